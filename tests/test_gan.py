import math

import pytest
import torch

from course_lib import gan, nets


def test_shapes_and_fingerprints():
    g, d = gan.DCGenerator(z_dim=64, width=64), gan.DCDiscriminator(width=64)
    x = g(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert d(x).shape == (5,) and d(x.view(5, 784)).shape == (5,)
    assert nets.count_parameters(g) == 64 * 6272 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 16 + 1
    assert nets.count_parameters(d) == 16 * 64 + 64 + 64 * 128 * 16 + 2 * 128 + 6272 + 1


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"\(N, 64\); got \(3, 10\)"):
        gan.DCGenerator(64)(torch.randn(3, 10))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        gan.DCDiscriminator()(torch.rand(2, 3, 32, 32))


def test_dcgan_initialisation_statistics():
    torch.manual_seed(0)
    d = gan.DCDiscriminator(width=64)
    w = d.net[2].weight
    assert abs(w.mean().item()) < 2e-3 and abs(w.std().item() - 0.02) < 2e-3
    bn = d.net[3].weight
    assert abs(bn.mean().item() - 1) < 0.01 and bn.std().item() < 0.04


def test_losses_from_logits_match_the_formulas():
    logits = torch.tensor([-3.0, 0.0, 2.0])
    p = torch.sigmoid(logits)
    assert torch.allclose(gan.generator_loss_minimax(logits), torch.log(1 - p).mean())
    assert torch.allclose(gan.generator_loss_nonsaturating(logits), -torch.log(p).mean())
    assert torch.allclose(gan.discriminator_loss(logits, logits), -(torch.log(p).mean() + torch.log(1 - p).mean()))
    # at D = 1/2 everywhere: discriminator 2 log 2, non-saturating generator log 2
    z = torch.zeros(4)
    assert math.isclose(gan.discriminator_loss(z, z).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(gan.generator_loss_nonsaturating(z).item(), math.log(2), rel_tol=1e-6)
    # confident discriminator: the minimax loss saturates (tiny gradient), the non-saturating one does not
    fake = torch.tensor([-10.0], requires_grad=True)
    gan.generator_loss_minimax(fake).backward()
    g_mm = fake.grad.abs().item()
    fake.grad = None
    gan.generator_loss_nonsaturating(fake).backward()
    assert g_mm < 1e-4 < 0.99 < fake.grad.abs().item()


def test_training_step_moves_both_players_and_logs():
    torch.manual_seed(0)
    g, d = gan.DCGenerator(z_dim=8, width=8), gan.DCDiscriminator(width=8)
    g0 = [p.detach().clone() for p in g.parameters()]
    d0 = [p.detach().clone() for p in d.parameters()]
    h = gan.train_gan(g, d, torch.rand(100, 1, 28, 28), steps=3, batch_size=16, k=2)
    assert len(h["d_loss"]) == 3 and len(h["g_loss"]) == 3
    assert any(not torch.equal(a, b) for a, b in zip(g0, g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, d.parameters()))
    # fresh players start near D = 1/2: losses near 2 log 2 and log 2
    assert abs(h["d_loss"][0] - 2 * math.log(2)) < 0.3 and abs(h["g_loss"][0] - math.log(2)) < 0.3
    assert all(p.requires_grad for p in d.parameters())


def test_generator_gets_no_gradient_while_the_discriminator_trains(monkeypatch):
    g, d = gan.DCGenerator(z_dim=8, width=8), gan.DCDiscriminator(width=8)
    seen = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        # when the D optimiser steps, no generator parameter may hold a gradient
        if any(p is q for grp in self.param_groups for p in grp["params"] for q in d.parameters()):
            seen.append(all(p.grad is None for p in g.parameters()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    gan.train_gan(g, d, torch.rand(50, 1, 28, 28), steps=2, batch_size=8, k=1)
    assert seen and all(seen), "the generator accumulated gradients during a discriminator step"


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="minimax, nonsaturating"):
        gan.train_gan(gan.DCGenerator(8, 8), gan.DCDiscriminator(8), torch.rand(4, 1, 28, 28), 1, loss="wasserstein")
