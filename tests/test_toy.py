import math

import pytest
import torch
from torch import distributions as D

from course_lib import toy


def _torch_mixture_1d(m: toy.Mixture1D):
    return D.MixtureSameFamily(D.Categorical(probs=m.weights), D.Normal(m.means, m.stds))


def _torch_mixture_2d(centres, std):
    c = centres.double()
    return D.MixtureSameFamily(D.Categorical(probs=torch.full((len(c),), 1.0 / len(c), dtype=torch.float64)),
                               D.Independent(D.Normal(c, torch.full_like(c, std)), 1))


# ---------------------------------------------------------------- 1-D mixture

@pytest.mark.parametrize("mix", [toy.two_bumps(), toy.gaussian_1d(1.0, 0.3), toy.gaussian_1d()], ids=repr)
def test_1d_density_integrates_to_one(mix):
    x = torch.linspace(-15, 15, 60001, dtype=torch.float64)
    total = float(torch.trapezoid(mix.prob(x), x))
    assert abs(total - 1) < 1e-8, f"expected the density of {mix} to integrate to 1, got {total!r}"


def test_1d_log_prob_matches_torch_distributions():
    mix = toy.Mixture1D([-3.0, 0.5, 4.0], [0.4, 1.2, 0.1], [0.2, 0.5, 0.3])
    x = torch.randn(500, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
    got, want = mix.log_prob(x), _torch_mixture_1d(mix).log_prob(x)
    assert got.dtype == torch.float64 and got.shape == x.shape, (
        f"expected float64 log_prob of shape {tuple(x.shape)}, got {got.dtype} {tuple(got.shape)}")
    err = float((got - want).abs().max())
    assert err < 1e-10, f"expected log_prob to match MixtureSameFamily to 1e-10, max difference {err!r}"
    # Far in the tail a naive log(sum of densities) is -inf; logsumexp stays finite and exact.
    far = torch.tensor([60.0], dtype=torch.float64)
    assert torch.isfinite(mix.log_prob(far)).all(), f"expected a finite log_prob at x=60, got {mix.log_prob(far)}"
    assert torch.allclose(mix.prob(x), want.exp(), rtol=1e-10, atol=0), "expected prob == exp(log_prob)"


def test_1d_samples_match_density():
    mix = toy.two_bumps()
    x = mix.sample(200_000, generator=torch.Generator().manual_seed(1))
    assert x.shape == (200_000, 1) and x.dtype == torch.float32, (
        f"expected float32 samples of shape (200000, 1), got {x.dtype} {tuple(x.shape)}")
    x = x.double().squeeze(1)
    sd = math.sqrt(mix.variance())
    # 5 standard errors: a correct sampler fails this about once in 10^6 seeds.
    tol_mean = 5 * sd / math.sqrt(len(x))
    assert abs(float(x.mean()) - mix.mean()) < tol_mean, (
        f"expected sample mean {mix.mean():.4f} ± {tol_mean:.4f}, got {float(x.mean()):.4f}")
    assert abs(float(x.std()) / sd - 1) < 0.01, f"expected sample std {sd:.4f} within 1%, got {float(x.std()):.4f}"
    # Histogram check: the mass left of 0 is 0.3 Φ(4) + 0.7 Φ(-1.875), from the closed-form CDF.
    cdf0 = float((_torch_mixture_1d(mix).component_distribution.cdf(torch.zeros(2, dtype=torch.float64))
                  * mix.weights).sum())
    frac = float((x < 0).double().mean())
    tol = 5 * math.sqrt(cdf0 * (1 - cdf0) / len(x))
    assert abs(frac - cdf0) < tol, f"expected P(x < 0) = {cdf0:.4f} ± {tol:.4f}, got {frac:.4f}"


@pytest.mark.parametrize("kwargs, message", [
    (dict(means=[0, 1], stds=[1, 1], weights=[0.5, 0.6]), "summing to 1"),
    (dict(means=[0, 1], stds=[1, 1], weights=[1.5, -0.5]), "positive weights"),
    (dict(means=[0, 1], stds=[1], weights=[0.5, 0.5]), "one length"),
    (dict(means=[0, 1], stds=[1, 0], weights=[0.5, 0.5]), "positive stds"),
    (dict(means=[], stds=[], weights=[]), "at least one component"),
])
def test_1d_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toy.Mixture1D(**kwargs)


def test_weights_within_tolerance_are_accepted():
    mix = toy.Mixture1D([0, 1], [1, 1], [0.5, 0.5 + 5e-7])
    assert mix.weights.numel() == 2, f"expected 2 components, got {mix.weights.numel()}"


# ---------------------------------------------------------------- 2-D sets

def test_centres():
    c8 = toy.eight_gaussian_centres(3.0)
    assert c8.shape == (8, 2), f"expected (8, 2) centres, got {tuple(c8.shape)}"
    assert torch.allclose(c8.norm(dim=1), torch.full((8,), 3.0)), f"expected all at radius 3, got {c8.norm(dim=1)}"
    # Equally spaced: neighbours are 2 r sin(π/8) apart.
    gap = (c8 - c8.roll(1, 0)).norm(dim=1)
    assert torch.allclose(gap, torch.full((8,), 6 * math.sin(math.pi / 8))), f"expected equal spacing, got {gap}"
    c25 = toy.twenty_five_gaussian_centres()
    want = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    got = {tuple(r) for r in c25.tolist()}
    assert c25.shape == (25, 2) and got == want, f"expected the grid {{-4,-2,0,2,4}}², got {sorted(got)}"


@pytest.mark.parametrize("centres, std, half", [(toy.eight_gaussian_centres(), 0.3, 4.0),
                                                (toy.twenty_five_gaussian_centres(), 0.5, 7.0)],
                         ids=["eight", "twenty_five"])
def test_2d_density_integrates_to_one(centres, std, half):
    # Step std/15 resolves each bump; the box reaches 4+ std beyond the outermost centre.
    t = torch.linspace(-half, half, int(2 * half / (std / 15)) + 1, dtype=torch.float64)
    xx, yy = torch.meshgrid(t, t, indexing="ij")
    p = toy.mixture_log_prob_2d(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), centres, std).exp()
    total = float(torch.trapezoid(torch.trapezoid(p.reshape(len(t), len(t)), t), t))
    assert abs(total - 1) < 1e-4, f"expected the 2-D density to integrate to 1, got {total!r}"


def test_2d_log_prob_matches_torch_distributions():
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 3
    for centres, std in [(toy.eight_gaussian_centres(), 0.02), (toy.twenty_five_gaussian_centres(), 0.05),
                         (toy.eight_gaussian_centres(1.0), 0.7)]:
        got, want = toy.mixture_log_prob_2d(x, centres, std), _torch_mixture_2d(centres, std).log_prob(x)
        err = float(((got - want).abs() / want.abs().clamp(min=1)).max())
        assert err < 1e-10, f"std={std}: expected log-density to match MixtureSameFamily, relative error {err!r}"


def test_2d_samples_shape_and_spread():
    g = torch.Generator().manual_seed(3)
    for name, x, centres, std in [("eight", toy.eight_gaussians(20_000, std=0.1, generator=g),
                                   toy.eight_gaussian_centres(), 0.1),
                                  ("twenty_five", toy.twenty_five_gaussians(20_000, std=0.1, generator=g),
                                   toy.twenty_five_gaussian_centres(), 0.1)]:
        assert x.shape == (20_000, 2) and x.dtype == torch.float32, (
            f"{name}: expected float32 (20000, 2), got {x.dtype} {tuple(x.shape)}")
        d = torch.cdist(x, centres)
        offset = x - centres[d.argmin(1)]
        got_std = float(offset.double().std())
        assert abs(got_std / std - 1) < 0.03, f"{name}: expected per-axis std {std} within 3%, got {got_std:.4f}"
        share = torch.bincount(d.argmin(1), minlength=len(centres)).double() / len(x)
        worst = float((share * len(centres) - 1).abs().max())
        assert worst < 0.2, f"{name}: expected equal mode weights within 20%, worst relative deviation {worst:.3f}"
    r = toy.ring(20_000, radius=2.0, width=0.05, generator=g)
    assert r.shape == (20_000, 2) and r.dtype == torch.float32, f"ring: got {r.dtype} {tuple(r.shape)}"
    radii = r.double().norm(dim=1)
    assert abs(float(radii.mean()) - 2.0) < 0.005 and abs(float(radii.std()) / 0.05 - 1) < 0.03, (
        f"ring: expected radius 2 ± 0.05, got mean {float(radii.mean()):.4f} std {float(radii.std()):.4f}")
    angle_mean = r.double().mean(0).norm()
    assert angle_mean < 0.05, f"ring: expected angles uniform (mean point near 0), got |mean| {float(angle_mean):.4f}"


@pytest.mark.parametrize("draw", [lambda g: toy.two_bumps().sample(100, generator=g),
                                  lambda g: toy.eight_gaussians(100, generator=g),
                                  lambda g: toy.twenty_five_gaussians(100, generator=g),
                                  lambda g: toy.ring(100, generator=g)],
                         ids=["two_bumps", "eight", "twenty_five", "ring"])
def test_seeding_is_reproducible_and_leaves_global_rng_alone(draw):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = draw(torch.Generator().manual_seed(7)), draw(torch.Generator().manual_seed(7))
    assert torch.equal(before, torch.get_rng_state()), "expected a given generator to leave the global RNG untouched"
    assert torch.equal(a, b), "expected identical samples from two generators with the same seed"
    c = draw(torch.Generator().manual_seed(8))
    assert not torch.equal(a, c), "expected different samples from different seeds"


def test_sampler_validation():
    with pytest.raises(ValueError, match="non-negative integer"):
        toy.eight_gaussians(-1)
    with pytest.raises(ValueError, match="positive finite"):
        toy.ring(10, width=0.0)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        toy.mixture_log_prob_2d(torch.zeros(5, 3), toy.eight_gaussian_centres(), 0.1)
    assert toy.eight_gaussians(0).shape == (0, 2), "expected an empty (0, 2) tensor for n=0"


# ---------------------------------------------------------------- mode coverage

def test_mode_coverage_on_true_samples():
    x = toy.eight_gaussians(2000, generator=torch.Generator().manual_seed(4))
    got = toy.mode_coverage(x, toy.eight_gaussian_centres(), std=0.02)
    assert set(got) == {"modes_covered", "high_quality", "counts"}, f"unexpected keys {sorted(got)}"
    assert got["modes_covered"] == 8, f"expected all 8 modes covered, got {got}"
    assert got["high_quality"] > 0.95, f"expected > 95% high-quality samples, got {got['high_quality']:.3f}"
    assert len(got["counts"]) == 8 and sum(got["counts"]) <= 2000, f"expected 8 counts summing to <= 2000: {got}"


def test_mode_coverage_on_collapsed_samples():
    centres = toy.eight_gaussian_centres()
    g = torch.Generator().manual_seed(5)
    k = torch.tensor([0, 3, 5])[torch.randint(3, (1500,), generator=g)]
    x = centres[k] + 0.02 * torch.randn(1500, 2, generator=g)
    got = toy.mode_coverage(x, centres, std=0.02)
    assert got["modes_covered"] == 3, f"expected 3 modes covered by samples from 3 centres, got {got}"
    assert [i for i, c in enumerate(got["counts"]) if c > 0] == [0, 3, 5], f"expected counts only at 0, 3, 5: {got}"


def test_mode_coverage_on_uniform_noise():
    x = (torch.rand(2000, 2, generator=torch.Generator().manual_seed(6)) - 0.5) * 6
    got = toy.mode_coverage(x, toy.eight_gaussian_centres(), std=0.02)
    # 8 discs of radius 0.06 in a 6x6 box cover 0.25% of it.
    assert got["high_quality"] < 0.05, f"expected few uniform samples near a mode, got {got['high_quality']:.3f}"
    assert got["modes_covered"] == 0, f"expected no mode reaching the default min_count (50), got {got}"


def test_mode_coverage_min_count_and_validation():
    x = toy.eight_gaussians(800, generator=torch.Generator().manual_seed(9))
    strict = toy.mode_coverage(x, toy.eight_gaussian_centres(), std=0.02, min_count=10_000)
    assert strict["modes_covered"] == 0, f"expected 0 modes with min_count above n, got {strict}"
    with pytest.raises(ValueError, match="positive integer"):
        toy.mode_coverage(x, toy.eight_gaussian_centres(), std=0.02, min_count=0)
    with pytest.raises(ValueError, match="at least one sample"):
        toy.mode_coverage(torch.zeros(0, 2), toy.eight_gaussian_centres(), std=0.02)
