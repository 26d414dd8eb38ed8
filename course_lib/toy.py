"""Toy distributions with exact densities, for the GAN-theory lecture.

A 1-D Gaussian mixture

    p(x) = sum_k w_k N(x; mu_k, sigma_k²)

lets the notebooks draw the optimal discriminator D*(x) = p_data / (p_data + p_g) exactly. The 2-D sets
(eight Gaussians on a circle, a 5x5 grid, a ring) are the usual mode-collapse benchmarks: their modes are
known, so ``mode_coverage`` can count how many a generator reaches.

Every sampler takes an optional ``torch.Generator``; when one is given, the global RNG is not touched, so a
notebook cell gives the same points however many cells ran before it.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

LOG_2PI = math.log(2.0 * math.pi)


def _float64(x) -> torch.Tensor:
    """A float64 CPU tensor from a tensor (on any device), a number or a sequence."""
    if torch.is_tensor(x):
        return x.detach().cpu().double()
    return torch.as_tensor(x, dtype=torch.float64)


def _check_n(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name}: expected a non-negative integer number of samples n, got {n!r}")
    return n


def _check_positive(value, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return value


# ---------------------------------------------------------------- 1-D mixture

class Mixture1D:
    """The 1-D Gaussian mixture sum_k w_k N(mu_k, sigma_k²), with exact log-density.

    Parameters are kept in float64 so that quadrature and D* = p / (p + q) are exact to round-off;
    samples come back as float32 (n, 1), the shape a generator's output has.
    """

    def __init__(self, means: Sequence[float], stds: Sequence[float], weights: Optional[Sequence[float]] = None):
        self.means = _float64(means).reshape(-1)
        self.stds = _float64(stds).reshape(-1)
        k = self.means.numel()
        if weights is None:
            weights = [1.0 / k] * k if k else []
        self.weights = _float64(weights).reshape(-1)
        if k == 0:
            raise ValueError("Mixture1D: expected at least one component, got 0 means")
        if self.stds.numel() != k or self.weights.numel() != k:
            raise ValueError(f"Mixture1D: expected means, stds and weights of one length; got {k} means, "
                             f"{self.stds.numel()} stds and {self.weights.numel()} weights")
        if not (torch.isfinite(self.means).all() and torch.isfinite(self.stds).all()):
            raise ValueError(f"Mixture1D: expected finite means and stds, got means {self.means.tolist()} and "
                             f"stds {self.stds.tolist()}")
        if not (self.stds > 0).all():
            raise ValueError(f"Mixture1D: expected positive stds, got {self.stds.tolist()}")
        if not (self.weights > 0).all():
            raise ValueError(f"Mixture1D: expected positive weights, got {self.weights.tolist()}; drop a "
                             "component rather than give it weight 0")
        total = float(self.weights.sum())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"Mixture1D: expected weights summing to 1 (within 1e-6), got {self.weights.tolist()} "
                             f"summing to {total!r}")

    def __repr__(self) -> str:
        return (f"Mixture1D(means={self.means.tolist()}, stds={self.stds.tolist()}, "
                f"weights={self.weights.tolist()})")

    def mean(self) -> float:
        """E[x] = sum_k w_k mu_k."""
        return float((self.weights * self.means).sum())

    def variance(self) -> float:
        """Var[x] = sum_k w_k (sigma_k² + mu_k²) - E[x]² (law of total variance)."""
        return float((self.weights * (self.stds ** 2 + self.means ** 2)).sum()) - self.mean() ** 2

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n draws, float32 (n, 1): pick a component k ~ w, then x = mu_k + sigma_k * eps."""
        n = _check_n(n, "Mixture1D.sample")
        if n == 0:
            return torch.empty(0, 1)
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, dtype=torch.float64, generator=generator)
        return (self.means[k] + self.stds[k] * eps).float().unsqueeze(1)

    def log_prob(self, x) -> torch.Tensor:
        """log p(x), float64, elementwise (same shape as x).

        logsumexp over components: summing densities first would underflow to log 0 in the tails.
        """
        x = _float64(x)
        z = (x.unsqueeze(-1) - self.means) / self.stds
        log_comp = -0.5 * z ** 2 - torch.log(self.stds) - 0.5 * LOG_2PI
        return torch.logsumexp(torch.log(self.weights) + log_comp, dim=-1)

    def prob(self, x) -> torch.Tensor:
        """p(x), float64, elementwise."""
        return self.log_prob(x).exp()


def gaussian_1d(mean: float = 0.0, std: float = 1.0) -> Mixture1D:
    """N(mean, std²) as a one-component mixture."""
    return Mixture1D([mean], [std], [1.0])


def two_bumps() -> Mixture1D:
    """A fixed, asymmetric bimodal target: 0.3 N(-2, 0.5²) + 0.7 N(1.5, 0.8²).

    Unequal weights and widths, so a generator that matches only the moments or only one mode is visible.
    """
    return Mixture1D([-2.0, 1.5], [0.5, 0.8], [0.3, 0.7])


# ---------------------------------------------------------------- 2-D sets

def eight_gaussian_centres(radius: float = 2.0) -> torch.Tensor:
    """(8, 2) float32: radius * (cos 2πk/8, sin 2πk/8), k = 0..7."""
    radius = _check_positive(radius, "eight_gaussian_centres(radius)")
    angle = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return (radius * torch.stack([angle.cos(), angle.sin()], dim=1)).float()


def twenty_five_gaussian_centres() -> torch.Tensor:
    """(25, 2) float32: the 5x5 grid {-4, -2, 0, 2, 4}², spacing 2 (row-major: x is the slow index)."""
    grid = torch.arange(-4.0, 5.0, 2.0)
    return torch.cartesian_prod(grid, grid)


def _sample_centres(n: int, centres: torch.Tensor, std: float, generator) -> torch.Tensor:
    """n draws from the equal-weight mixture of N(c, std² I) over the rows c of centres; float32 (n, 2)."""
    k = torch.randint(len(centres), (n,), generator=generator)
    eps = torch.randn(n, centres.shape[1], dtype=torch.float64, generator=generator)
    return (centres.double()[k] + std * eps).float()


def eight_gaussians(n: int, radius: float = 2.0, std: float = 0.02,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """n draws, float32 (n, 2), from 8 equal-weight Gaussians N(c, std² I) on a circle of the given radius."""
    n = _check_n(n, "eight_gaussians")
    std = _check_positive(std, "eight_gaussians(std)")
    return _sample_centres(n, eight_gaussian_centres(radius), std, generator)


def twenty_five_gaussians(n: int, std: float = 0.05, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """n draws, float32 (n, 2), from 25 equal-weight Gaussians on the grid {-4, -2, 0, 2, 4}² (spacing 2)."""
    n = _check_n(n, "twenty_five_gaussians")
    std = _check_positive(std, "twenty_five_gaussians(std)")
    return _sample_centres(n, twenty_five_gaussian_centres(), std, generator)


def ring(n: int, radius: float = 2.0, width: float = 0.05,
         generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """n draws, float32 (n, 2): angle ~ U[0, 2π), distance from 0 ~ N(radius, width²).

    A continuum of modes: no finite set of centres describes it, which is why it is a separate test.
    """
    n = _check_n(n, "ring")
    radius = _check_positive(radius, "ring(radius)")
    width = _check_positive(width, "ring(width)")
    angle = torch.rand(n, dtype=torch.float64, generator=generator) * (2 * math.pi)
    r = radius + width * torch.randn(n, dtype=torch.float64, generator=generator)
    return (r.unsqueeze(1) * torch.stack([angle.cos(), angle.sin()], dim=1)).float()


def _check_points(x, centres, fn: str):
    x, c = _float64(x), _float64(centres)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"{fn}: expected centres of shape (K, d) with K >= 1, got shape {tuple(c.shape)}")
    if x.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"{fn}: expected points of shape (n, {c.shape[1]}) to match centres "
                         f"{tuple(c.shape)}, got shape {tuple(x.shape)}")
    return x, c


def mixture_log_prob_2d(x, centres, std: float) -> torch.Tensor:
    """log p(x), float64 (n,), for p = (1/K) sum_k N(x; c_k, std² I) in 2-D.

    log N(x; c, s² I) = -||x - c||² / (2 s²) - log(2π s²) in 2-D; logsumexp over k keeps the far tails
    finite (with std=0.02 a point one unit from every centre has density e^-1250).
    """
    x, c = _check_points(x, centres, "mixture_log_prob_2d")
    if c.shape[1] != 2:
        raise ValueError(f"mixture_log_prob_2d: expected 2-D centres (K, 2), got shape {tuple(c.shape)}")
    std = _check_positive(std, "mixture_log_prob_2d(std)")
    sq = ((x.unsqueeze(1) - c.unsqueeze(0)) ** 2).sum(-1)   # (n, K)
    log_comp = -sq / (2 * std ** 2) - math.log(2 * math.pi * std ** 2)
    return torch.logsumexp(log_comp, dim=1) - math.log(c.shape[0])


# ---------------------------------------------------------------- mode collapse

def mode_coverage(samples, centres, std: float, threshold: float = 3.0, min_count: Optional[int] = None) -> dict:
    """How many of the known modes a set of samples reaches, and how many samples land on any mode.

    A sample is "near" centre c if ||x - c|| <= threshold * std. Returns

    - ``counts``: per-centre number of near samples (a list of K ints),
    - ``modes_covered``: number of centres with at least ``min_count`` near samples,
    - ``high_quality``: share of samples near their nearest centre.

    The default ``min_count`` is max(1, ceil(0.2 n / K)): a mode counts when it gets a fifth of the n / K
    samples a perfect generator would put there, so a handful of stray points between modes does not count
    as covering a mode, yet an uneven but real coverage does.
    """
    x, c = _check_points(samples, centres, "mode_coverage")
    std = _check_positive(std, "mode_coverage(std)")
    threshold = _check_positive(threshold, "mode_coverage(threshold)")
    n, k = x.shape[0], c.shape[0]
    if n == 0:
        raise ValueError("mode_coverage: expected at least one sample, got 0")
    if min_count is None:
        min_count = max(1, math.ceil(0.2 * n / k))
    elif isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"mode_coverage: expected min_count to be a positive integer or None, got {min_count!r}")
    near = torch.cdist(x, c) <= threshold * std   # (n, K)
    counts = near.sum(0)
    return {"modes_covered": int((counts >= min_count).sum()),
            "high_quality": float(near.any(1).double().mean()),
            "counts": [int(v) for v in counts]}
