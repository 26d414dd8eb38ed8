"""course_lib.wasserstein (assignment 4's reference answers) and the tools lecture 5 added: ConvDiscriminator's
normalisations, spectral normalisation of ensembles, and train_gan's after_d_step hook."""
import math

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import nets, train_gan, toy
from course_lib import wasserstein as W


def test_parallel_lines_closed_form():
    assert W.parallel_lines(0) == {"tv": 0.0, "kl": 0.0, "kl_reverse": 0.0, "js": 0.0, "w1": 0.0}
    d = W.parallel_lines(torch.tensor(-0.3))
    assert d["tv"] == 1.0 and math.isinf(d["kl"]) and math.isinf(d["kl_reverse"])
    assert d["js"] == math.log(2) and d["w1"] == pytest.approx(0.3)
    with pytest.raises(ValueError):
        W.parallel_lines(float("nan"))


@pytest.mark.parametrize("n, m", [(1, 1), (5, 7), (100, 100), (3, 1000)])
def test_w1_1d_matches_scipy(n, m):
    g = torch.Generator().manual_seed(n * 1000 + m)
    x = torch.randn(n, generator=g, dtype=torch.float64)
    y = 2 * torch.randn(m, generator=g, dtype=torch.float64) + 0.5
    assert float(W.w1_1d(x, y)) == pytest.approx(scipy.stats.wasserstein_distance(x.numpy(), y.numpy()), rel=1e-12)


def test_w1_1d_ties_and_errors():
    assert float(W.w1_1d([0.0, 1.0], [0.0, 0.0, 1.0, 1.0])) == 0.0
    assert float(W.w1_1d([0.0], [3.0])) == 3.0
    with pytest.raises(ValueError, match="at least one point"):
        W.w1_1d([], [1.0])


class Linear2(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_gradient_penalty_edge_cases_and_gradient():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(8, 2, generator=g, dtype=torch.float64), torch.randn(8, 2, generator=g, dtype=torch.float64)
    eps = torch.rand(8, generator=g, dtype=torch.float64)
    unit = Linear2([0.6, 0.8])
    assert W.gradient_penalty(unit, real, fake, eps).item() == pytest.approx(0.0, abs=1e-15)
    flat = Linear2([0.0, 0.0])
    assert W.gradient_penalty(flat, real, fake, eps).item() == pytest.approx(1.0)
    # For f = w.x the penalty is (|w| - 1)^2 and its gradient 2 (|w| - 1) w / |w|: it reaches the critic.
    f = Linear2([1.2, 1.6])
    W.gradient_penalty(f, real, fake, eps).backward()
    assert torch.allclose(f.w.grad, 2 * (2.0 - 1) * f.w.detach() / 2.0)
    # images: one eps per image, the norm over all pixels
    imgs = torch.randn(4, 1, 2, 2, dtype=torch.float64)
    gp = W.gradient_penalty(Linear2([0.5] * 4), imgs, imgs.flip(0), torch.rand(4, dtype=torch.float64))
    assert gp.item() == pytest.approx(0.0, abs=1e-15)


def test_power_iteration_step_is_spectral_norms_step():
    g = torch.Generator().manual_seed(1)
    Wc = torch.randn(5, 3, 3, 3, generator=g, dtype=torch.float64)
    u = F.normalize(torch.randn(5, generator=g, dtype=torch.float64), dim=0)
    layer = nn.utils.spectral_norm(nn.Conv2d(3, 5, 3, bias=False).double())
    with torch.no_grad():
        layer.weight_orig.copy_(Wc)
        layer.weight_u.copy_(u)
    layer.train()
    layer(torch.zeros(1, 3, 3, 3, dtype=torch.float64))
    sigma, u_new, v = W.power_iteration_step(Wc, u)
    assert torch.allclose(u_new, layer.weight_u) and torch.allclose(v, layer.weight_v)
    assert torch.allclose(layer.weight, Wc / sigma)
    for _ in range(300):
        sigma, u, _ = W.power_iteration_step(Wc, u)
    assert float(sigma) == pytest.approx(float(torch.linalg.matrix_norm(Wc.reshape(5, -1), ord=2)), rel=1e-9)


def test_losses_and_clipping():
    D, G = nets.MLPDiscriminator(hidden=8), nets.MLPGenerator(hidden=8)
    x, z = torch.randn(6, 2), torch.randn(5, 2)
    assert torch.allclose(W.critic_loss(D, G, x, z), D(G(z)).mean() - D(x).mean())
    assert torch.allclose(W.generator_loss(D, G, z), -D(G(z)).mean())
    ls_d = W.discriminator_loss_lsgan(D, G, x, z)
    assert torch.allclose(ls_d, 0.5 * ((D(x) - 1) ** 2).mean() + 0.5 * (D(G(z)) ** 2).mean())
    assert torch.allclose(W.generator_loss_lsgan(D, G, z), 0.5 * ((D(G(z)) - 1) ** 2).mean())
    params = list(D.parameters())
    W.clip_weights_(D, 0.01)
    assert all(p is q for p, q in zip(params, D.parameters()))
    assert max(float(p.detach().abs().max()) for p in D.parameters()) <= 0.01


@pytest.mark.parametrize("norm", ["batch", "none", "spectral"])
def test_conv_discriminator_norms(norm):
    D = nets.ConvDiscriminator(width=8, norm=norm)
    assert D(torch.rand(3, 1, 28, 28)).shape == (3,)
    kinds = {type(m).__name__ for m in D.modules()}
    assert ("BatchNorm2d" in kinds) == (norm == "batch")
    assert (sum(1 for m in D.modules() if hasattr(m, "parametrizations")) == 3) == (norm == "spectral")
    with pytest.raises(ValueError, match="norm must be one of"):
        nets.ConvDiscriminator(norm="layer")


def test_conv_discriminator_default_is_unchanged():
    """norm="batch" builds the same layers from the same random draws as before the option existed."""
    torch.manual_seed(0)
    D = nets.ConvDiscriminator(width=8)
    names = [type(m).__name__ for m in D.net]
    assert names == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU", "Flatten", "Linear"]
    assert D.net[2].bias is None


def test_spectral_norm_members_normalises_each_member():
    torch.manual_seed(0)
    D = nets.spectral_norm_members(nets.MLPDiscriminatorEnsemble(3, hidden=16))
    for _ in range(50):
        D(torch.randn(6, 2)).sum().backward()          # training mode: one power step per forward pass
    for layer in D.modules():
        if isinstance(layer, nets.BatchedLinear):
            sig = [float(torch.linalg.matrix_norm(layer.weight[m].detach(), ord=2)) for m in range(3)]
            assert np.allclose(sig, 1.0, atol=1e-3), sig


def test_train_gan_calls_after_d_step_after_every_critic_step():
    calls = []
    G, D = nets.MLPGenerator(hidden=8), nets.MLPDiscriminator(hidden=8)

    def clip():
        calls.append(1)
        W.clip_weights_(D, 0.01)

    train_gan(G, D, lambda n, g: toy.eight_gaussians(n, generator=g), 4, torch.optim.RMSprop(G.parameters(), lr=5e-5),
              torch.optim.RMSprop(D.parameters(), lr=5e-5), d_loss=W.critic_loss, g_loss=W.generator_loss, k=3,
              batch_size=16, after_d_step=clip)
    assert len(calls) == 12 and max(float(p.detach().abs().max()) for p in D.parameters()) <= 0.01
