import math

import pytest
import torch

from torch import nn

from course_lib import gan, nets, rng, train_gan
from course_lib.grading import ConstantGenerator, IdentityDiscriminator, spy_criterion


def test_shapes_and_fingerprints():
    g, d = nets.ConvGenerator(z_dim=64, width=64), nets.ConvDiscriminator(width=64)
    x = g(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert d(x).shape == (5,) and d(x.view(5, 784)).shape == (5,)
    assert nets.count_parameters(g) == 64 * 6272 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 16 + 1
    assert nets.count_parameters(d) == 16 * 64 + 64 + 64 * 128 * 16 + 2 * 128 + 6272 + 1


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"ConvGenerator expects codes of shape \(N, 64\); got \(3, 10\)"):
        nets.ConvGenerator(64)(torch.randn(3, 10))
    with pytest.raises(ValueError, match=r"ConvDiscriminator expects images of shape \(N, 1, 28, 28\)"):
        nets.ConvDiscriminator()(torch.rand(2, 3, 32, 32))


def test_dcgan_initialisation_statistics():
    torch.manual_seed(0)
    d = nets.ConvDiscriminator(width=64)
    w = d.net[2].weight
    assert abs(w.mean().item()) < 2e-3 and abs(w.std().item() - 0.02) < 2e-3
    bn = d.net[3].weight
    assert abs(bn.mean().item() - 1) < 0.01 and bn.std().item() < 0.04


def test_losses_match_the_formulas():
    D, G = IdentityDiscriminator(), ConstantGenerator(-3.0)
    x, z = torch.tensor([[0.0], [2.0]]), torch.zeros(5, 3)
    p_real, p_fake = torch.sigmoid(x[:, 0]), torch.sigmoid(torch.tensor(-3.0))
    assert torch.allclose(gan.generator_loss_minimax(D, G, z), torch.log(1 - p_fake))
    assert torch.allclose(gan.generator_loss_nonsaturating(D, G, z), -torch.log(p_fake))
    assert torch.allclose(gan.discriminator_loss(D, G, x, z), -(torch.log(p_real).mean() + torch.log(1 - p_fake)))
    # at D = 1/2 everywhere: discriminator 2 log 2, non-saturating generator log 2
    G0 = ConstantGenerator(0.0)
    assert math.isclose(gan.discriminator_loss(D, G0, torch.zeros(4, 1), z).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(gan.generator_loss_nonsaturating(D, G0, z).item(), math.log(2), rel_tol=1e-6)


def test_losses_wire_the_criterion_as_documented():
    calls = []

    def spy(logits, target):
        calls.append((logits.detach().clone(), target.clone()))
        return spy_criterion(logits, target)

    D, G = IdentityDiscriminator(), ConstantGenerator(5.0)
    x, z = torch.tensor([[1.0], [3.0]]), torch.zeros(2, 3)
    assert gan.discriminator_loss(D, G, x, z, spy).item() == (1 + 3) * 3 + 2 * 5 * 2
    assert gan.generator_loss_minimax(D, G, z, spy).item() == -(2 * 5 * 2)
    assert gan.generator_loss_nonsaturating(D, G, z, spy).item() == 2 * 5 * 3
    assert [c[1].tolist() for c in calls] == [[1, 1], [0, 0], [0, 0], [1, 1]]


def test_discriminator_loss_leaves_the_generator_alone():
    D, G = IdentityDiscriminator(), ConstantGenerator(1.0)
    gan.discriminator_loss(D, G, torch.ones(3, 1), torch.zeros(3, 3)).backward()
    assert G.w.grad is None and D.s.grad is not None


def test_saturation():
    # a confident discriminator (logit -10 on fakes): minimax gradient ~ e^-10, non-saturating ~ 1
    D, G = IdentityDiscriminator(), ConstantGenerator(-10.0)
    z = torch.zeros(1, 3)
    gan.generator_loss_minimax(D, G, z).backward()
    g_mm = G.w.grad.abs().item()
    G.w.grad = None
    gan.generator_loss_nonsaturating(D, G, z).backward()
    assert g_mm < 1e-3 < 9.9 < G.w.grad.abs().item()   # d/dw of the loss at w=1 is 10 * sigmoid-ish factor


def test_optimal_discriminator_and_jsd():
    from course_lib import toy
    p, q = toy.gaussian_1d(0, 1), toy.gaussian_1d(1, 1)
    xs = torch.linspace(-12, 13, 20001, dtype=torch.float64)
    d = gan.optimal_discriminator(p.log_prob(xs), q.log_prob(xs))
    assert torch.allclose(d[10000 - 4000:10000 + 4000], (p.prob(xs) / (p.prob(xs) + q.prob(xs)))[6000:14000])
    far = torch.tensor([-2000.0]), torch.tensor([-2001.0])
    assert torch.allclose(gan.optimal_discriminator(*far), torch.sigmoid(torch.tensor([1.0])))
    inf = torch.tensor([-math.inf])
    assert gan.optimal_discriminator(inf, inf).item() == 0.5
    dx = float(xs[1] - xs[0])
    assert abs(gan.jsd(p.log_prob(xs), p.log_prob(xs), dx).item()) < 1e-12
    # disjoint supports: exactly log 2
    lp = torch.where(xs < 0, torch.tensor(0.0, dtype=torch.float64), torch.tensor(-math.inf, dtype=torch.float64))
    lq = torch.where(xs >= 0, torch.tensor(0.0, dtype=torch.float64), torch.tensor(-math.inf, dtype=torch.float64))
    dxs = torch.full_like(xs, 1 / (xs < 0).sum().item())  # each a uniform with mass 1 on its half
    val = gan.jsd(lp + dxs.log() - math.log(dx), lq + math.log(1 / (xs >= 0).sum().item()) - math.log(dx), dx)
    assert abs(val.item() - math.log(2)) < 1e-9
    # symmetric and below log 2
    j = gan.jsd(p.log_prob(xs), q.log_prob(xs), dx).item()
    assert abs(j - gan.jsd(q.log_prob(xs), p.log_prob(xs), dx).item()) < 1e-12 and 0 < j < math.log(2)


def test_mlp_players_shapes():
    G, D = nets.MLPGenerator(z_dim=3, out_dim=2), nets.MLPDiscriminator(in_dim=2)
    assert G(torch.randn(7, 3)).shape == (7, 2) and D(torch.randn(7, 2)).shape == (7,)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        D(torch.randn(7, 3))
    assert [m.out_features for m in G.modules() if isinstance(m, nn.Linear)] == [128, 128, 128, 2]
    assert nets.count_parameters(G) == 3 * 128 + 128 + 2 * (128 * 128 + 128) + 128 * 2 + 2


# the recipe (a tool in course_lib.train) trained with the reference losses
LOSSES = dict(d_loss=gan.discriminator_loss, g_loss=gan.generator_loss_nonsaturating)


def adam(module, lr=2e-4):
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.999))


def test_training_recipe_moves_both_players_and_logs():
    torch.manual_seed(0)
    g, d = nets.ConvGenerator(z_dim=8, width=8), nets.ConvDiscriminator(width=8)
    g0 = [p.detach().clone() for p in g.parameters()]
    d0 = [p.detach().clone() for p in d.parameters()]
    seen = []
    h = train_gan(g, d, torch.rand(100, 1, 28, 28), 3, adam(g), adam(d), batch_size=16, k=2, probe_every=2,
                  **LOSSES, callback=lambda step, G, D: seen.append(step))
    assert len(h["d_loss"]) == 3 and len(h["g_loss"]) == 3 and seen == [1, 2, 3]
    assert h.steps("d_real") == [1, 2] and len(h["d_fake"]) == 2 and h.steps("d_loss") == [1, 2, 3]
    assert any(not torch.equal(a, b) for a, b in zip(g0, g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, d.parameters()))
    # fresh players start near D = 1/2: losses near 2 log 2 and log 2
    assert abs(h["d_loss"][0] - 2 * math.log(2)) < 0.3 and abs(h["g_loss"][0] - math.log(2)) < 0.3
    assert all(p.requires_grad for p in list(d.parameters()) + list(g.parameters()))


def test_sampler_data_and_determinism():
    from course_lib import toy

    def run():
        torch.manual_seed(0)
        G, D = nets.MLPGenerator(hidden=16), nets.MLPDiscriminator(hidden=16)
        train_gan(G, D, lambda n, g: toy.eight_gaussians(n, generator=g), 5, adam(G), adam(D), batch_size=32,
                  seed=1, **LOSSES)
        return G.sample(10, rng(0))
    assert torch.equal(run(), run())


def test_generator_gets_no_gradient_while_the_discriminator_trains(monkeypatch):
    g, d = nets.ConvGenerator(z_dim=8, width=8), nets.ConvDiscriminator(width=8)
    seen, clean_d = [], []
    original = torch.optim.Adam.step
    last_g, last_d = {}, {}

    def unchanged(params, last):
        return all((p.grad is None and id(p) not in last) or
                   (p.grad is not None and id(p) in last and torch.equal(p.grad, last[id(p)])) for p in params)

    def spy(self, *args, **kwargs):
        params = [p for grp in self.param_groups for p in grp["params"]]
        is_d = any(p is q for p in params for q in d.parameters())
        # when one player's optimiser steps, the other's gradients are what its own last step left
        (seen if is_d else clean_d).append(unchanged(g.parameters(), last_g) if is_d else
                                           unchanged(d.parameters(), last_d))
        out = original(self, *args, **kwargs)
        mine, last = (d, last_d) if is_d else (g, last_g)
        last.clear()
        last.update({id(p): p.grad.clone() for p in mine.parameters() if p.grad is not None})
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    train_gan(g, d, torch.rand(50, 1, 28, 28), 3, adam(g), adam(d), batch_size=8, k=2, **LOSSES)
    assert len(seen) == 6 and all(seen), "the generator's gradients changed during a discriminator step"
    assert len(clean_d) == 3 and all(clean_d), "the discriminator's gradients changed during a generator step"


def test_bad_arguments_are_refused():
    G, D = nets.ConvGenerator(8, 8), nets.ConvDiscriminator(8)
    with pytest.raises(ValueError, match="k=0"):
        train_gan(G, D, torch.rand(4, 1, 28, 28), 1, adam(G), adam(D), k=0, **LOSSES)
    with pytest.raises(ValueError, match="at least one real batch"):
        gan.alternating_step(G, D, None, None, [], lambda n: torch.randn(n, 8))
