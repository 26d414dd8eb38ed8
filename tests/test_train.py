"""The training tools: a strict History, and the adversarial step and loop every GAN of the course uses."""
import math

import pytest
import torch
from torch import nn

from course_lib import History, adversarial_step, batches, fit, rng, train_adversarial
from course_lib import train as train_module


def test_history_is_strict_and_keeps_rates_apart():
    h = History()
    h.log(1, {"d_loss": 1.0, "g_loss": torch.tensor(2.0)})
    h.log(2, {"d_loss": 0.5, "g_loss": 1.5})
    h.log(2, {"probe": 0.9})
    assert h["d_loss"] == [1.0, 0.5] and h.steps("d_loss") == [1, 2]
    assert h["probe"] == [0.9] and h.steps("probe") == [2]
    with pytest.raises(KeyError, match=r"no series 'd_los'; it has: d_loss, g_loss, probe"):
        h["d_los"]
    with pytest.raises(KeyError, match="it has: nothing yet"):
        History()["loss"]
    with pytest.raises(KeyError, match="history.epochs has no series 'loss'"):
        h.epochs["loss"]
    assert "probe" in h and "prob" not in h and sorted(h.keys()) == ["d_loss", "g_loss", "probe"]


def test_fit_logs_steps_and_epochs_apart():
    w = nn.Parameter(torch.tensor([3.0]))
    h = fit(lambda b: ((w - 1) ** 2).sum(), torch.optim.SGD([w], lr=0.1), [torch.zeros(1)] * 3, epochs=4)
    assert h.steps("loss") == list(range(12)) and h.epochs.steps("loss") == [0, 1, 2, 3]
    assert h.epochs["loss"][0] == pytest.approx(sum(h["loss"][:3]) / 3)


class Scale(nn.Module):
    def __init__(self, value=1.0):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(float(value)))

    def forward(self, x):
        return self.w * x


def test_step_order_hook_terms_and_frozen_idle_side():
    G, D = Scale(2.0), Scale(3.0)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    events = []

    def d_loss(x):
        # no detach on purpose: the step itself keeps the generator out of the discriminator's update
        assert not G.w.requires_grad and D.w.requires_grad
        events.append(("D", float(x)))
        fake = G(torch.tensor(1.0))
        return D(x) - D(fake), {"penalty": D.w ** 2}

    def g_loss(x):
        assert G.w.requires_grad and not D.w.requires_grad
        events.append(("G", float(x)))
        return -D(G(torch.tensor(1.0)))

    out = adversarial_step([torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)], d_loss, g_loss, opt_d, opt_g,
                           D, G, after_d_step=lambda: events.append("clip"))
    assert events == [("D", 1.0), "clip", ("D", 2.0), "clip", ("D", 3.0), "clip", ("G", 3.0)]
    assert set(out) == {"d_loss", "g_loss", "penalty"} and all(torch.is_tensor(v) and not v.requires_grad
                                                               for v in out.values())
    # D's loss w (x - 2) has gradient x - 2 = -1, 0, 1 over the three steps: w ends at 3 - 0.1 (-1 + 0 + 1) = 3
    assert D.w.item() == pytest.approx(3.0) and G.w.grad is not None
    # G's loss -w_D * w_G: gradient -w_D = -3, so w_G = 2 + 0.3
    assert G.w.item() == pytest.approx(2.3)
    assert G.w.requires_grad and D.w.requires_grad
    with pytest.raises(ValueError, match="at least one batch"):
        adversarial_step([], d_loss, g_loss, opt_d, opt_g, D, G)
    with pytest.raises(ValueError, match="d_loss must return a scalar"):
        adversarial_step([torch.ones(2)], lambda x: D(x), g_loss, opt_d, opt_g, D, G)


def test_two_pairs_of_players_and_lists_of_optimisers():
    """CycleGAN's shape: two generators and two discriminators, one optimiser per player."""
    gens, discs = [Scale(1.0), Scale(1.0)], [Scale(1.0), Scale(1.0)]
    opts_g = [torch.optim.SGD(m.parameters(), lr=0.5) for m in gens]
    opts_d = [torch.optim.SGD(m.parameters(), lr=0.5) for m in discs]
    x = torch.tensor(1.0)
    d_loss = lambda b: sum(d(g(b)) for d, g in zip(discs, gens))   # noqa: E731
    g_loss = lambda b: -sum(d(g(b)) for d, g in zip(discs, gens))  # noqa: E731
    adversarial_step([x], d_loss, g_loss, opts_d, opts_g, discs, gens)
    assert [d.w.item() for d in discs] == [0.5, 0.5] and [g.w.item() for g in gens] == [1.25, 1.25]


def test_weight_clipping_hook_and_k_critic_steps():
    torch.manual_seed(0)
    G, D = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    opt_g, opt_d = torch.optim.RMSprop(G.parameters(), lr=5e-2), torch.optim.RMSprop(D.parameters(), lr=5e-2)
    data = batches(torch.randn(64, 2) + 3, 16, rng(0))
    n_d = []

    def clip():
        n_d.append(1)
        for p in D.parameters():
            p.data.clamp_(-0.01, 0.01)

    h = train_adversarial(data, lambda x: D(G(torch.randn(16, 2))).mean() - D(x).mean(),
                          lambda x: -D(G(torch.randn(16, 2))).mean(), opt_d, opt_g, D, G, steps=7, k=5,
                          after_d_step=clip, log_every=3)
    assert len(n_d) == 35 and h.steps("d_loss") == list(range(1, 8))
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01


def test_values_are_read_back_every_few_steps_not_every_step(monkeypatch):
    flushes = []
    original = train_module._Buffer.flush
    monkeypatch.setattr(train_module._Buffer, "flush", lambda self: flushes.append(len(self.rows)) or original(self))
    D, G = Scale(), Scale()
    opt = lambda m: torch.optim.SGD(m.parameters(), lr=0.01)  # noqa: E731
    h = train_adversarial(iter(lambda: torch.tensor(1.0), None), lambda x: D(x) - D(G(x)), lambda x: -D(G(x)),
                          opt(D), opt(G), D, G, steps=23, log_every=10)
    assert flushes == [10, 10, 3] and len(h["d_loss"]) == 23


def test_non_finite_loss_names_the_step():
    D, G = Scale(), Scale()
    calls = iter(range(100))
    bad = lambda x: D(x) * (math.nan if next(calls) == 6 else 1.0)  # noqa: E731
    with pytest.raises(FloatingPointError, match=r"d_loss became nan at step 7"):
        train_adversarial(iter(lambda: torch.tensor(1.0), None), bad, lambda x: -D(G(x)),
                          torch.optim.SGD(D.parameters(), lr=0.01), torch.optim.SGD(G.parameters(), lr=0.01), D, G,
                          steps=20, log_every=10)
    with pytest.raises(ValueError, match="k=0"):
        train_adversarial([], bad, bad, None, None, D, G, steps=1, k=0)


def test_batches_stream():
    x, y = torch.arange(10.0), torch.arange(10)
    a = next(batches((x, y), 4, rng(1)))
    b = next(batches((x, y), 4, rng(1)))
    assert torch.equal(a[0], b[0]) and torch.equal(a[0].long(), a[1])
    s = next(batches(lambda n, g: torch.randn(n, 2, generator=g), 5, rng(0)))
    assert s.shape == (5, 2)
    with pytest.raises(ValueError, match="positive integer"):
        batches(x, 0)
    with pytest.raises(ValueError, match="one length"):
        batches((x, y[:3]), 2)
