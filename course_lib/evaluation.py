"""Evaluation's reference answers: what assignment ``a5_evaluation`` grades, and nothing else.

The Fréchet distance between two Gaussians is

    d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½),

computed here in float64 as a sum of square roots of the eigenvalues of S1 S2; the Inception Score
exp(E_x KL(p(y|x) || p(y))) over splits; and the unbiased kernel MMD². The tools that measure models (the
feature network, ``fid(samples, reference)``, nearest neighbours) are in ``course_lib.metrics``. The
assignment's tests switch this module off, so calling these functions from an answer earns nothing.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.special import xlogy

from .metrics import _as_2d_float64, _np64, class_probs, gaussian_stats


# ---------------------------------------------------------------- Fréchet distance

def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½) between N(mu1, S1) and N(mu2, S2), in float64."""
    mu1, mu2 = (np.atleast_1d(_np64(m)) for m in (mu1, mu2))
    s1, s2 = (np.atleast_2d(_np64(s)) for s in (sigma1, sigma2))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance: expected means of shape (d,) and covariances of shape (d, d) with "
                         f"one d; got mu1 {mu1.shape}, sigma1 {s1.shape}, mu2 {mu2.shape}, sigma2 {s2.shape}")
    for name, a in (("mu1", mu1), ("sigma1", s1), ("mu2", mu2), ("sigma2", s2)):
        if not np.isfinite(a).all():
            raise ValueError(f"frechet_distance: expected finite numbers in {name}, found NaN or inf")
    # Tr((S1 S2)^½) = sum of square roots of the eigenvalues of S1 S2. The product is not symmetric, so the
    # general eigvals; its eigenvalues are real and >= 0 in exact arithmetic, so keep the real parts and
    # clip the round-off negatives of a singular covariance to 0.
    eig = np.linalg.eigvals(s1 @ s2).real
    tr_sqrt = np.sqrt(np.clip(eig, 0.0, None)).sum()
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    # Identical inputs leave about -1e-13 * trace: a distance is never negative, so round that to 0.
    if -1e-9 * (1.0 + np.trace(s1) + np.trace(s2)) < value < 0.0:
        value = 0.0
    return value


def fid_from_features(f1, f2) -> float:
    """Fréchet distance between Gaussian fits of two feature sets (N1, d) and (N2, d)."""
    a, b = _as_2d_float64(f1, "fid_from_features(f1)"), _as_2d_float64(f2, "fid_from_features(f2)")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"fid_from_features: both feature sets need the same dimension d; got f1 {a.shape} "
                         f"and f2 {b.shape}")
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


# ---------------------------------------------------------------- Inception Score

def inception_score(probs, splits: int = 10):
    """exp(E_x KL(p(y|x) || p(y))) on each of ``splits`` consecutive chunks of probs (N, C); (mean, std).

    p(y) is the chunk's mean prediction. Chunks come from ``numpy.array_split`` (sizes differ by at most 1,
    every row is used); std is numpy's (ddof=0).
    """
    p = _as_2d_float64(probs, "inception_score")
    n, c = p.shape
    if p.min() < 0 or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        worst = int(np.abs(p.sum(1) - 1).argmax())
        raise ValueError(f"inception_score: expected class probabilities (non-negative rows that sum to 1); found "
                         f"min {p.min():.3g} and row {worst} summing to {p[worst].sum():.4g}. Pass "
                         "softmax(logits), not logits")
    if not isinstance(splits, (int, np.integer)) or not 1 <= splits <= n:
        raise ValueError(f"inception_score: splits must be an integer between 1 and the number of samples ({n}); "
                         f"got {splits!r}")
    scores = []
    for chunk in np.array_split(p, splits):
        py = chunk.mean(0, keepdims=True)
        kl = (xlogy(chunk, chunk) - xlogy(chunk, py)).sum(1)  # xlogy: 0 log 0 = 0
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score_of(samples, net=None, splits: int = 10, batch_size: int = 500, device=None):
    """Inception Score (mean, std) of images using FeatureNet's class probabilities: at most 10 for digits."""
    return inception_score(class_probs(samples, net, batch_size, device), splits)


# ---------------------------------------------------------------- kernel MMD

def _rows(x) -> np.ndarray:
    """Images (N, C, H, W) as float64 rows (N, C*H*W); (N, d) features and (N,) values stay as they are."""
    x = _np64(x)
    return x.reshape(len(x), -1) if x.ndim > 2 else x



KERNELS = ("rbf", "imq")
DEFAULT_SCALE_FACTORS = (0.5, 1.0, 2.0)  # bandwidths: these multiples of the median pairwise distance
_MEDIAN_POINTS = 2000  # the median is estimated on at most this many pooled points


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * a @ b.T).clamp_min(0.0)


def _median_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    pooled = torch.cat([x, y])
    if len(pooled) > _MEDIAN_POINTS:  # evenly spaced points: deterministic and covers both sets
        pooled = pooled[torch.linspace(0, len(pooled) - 1, _MEDIAN_POINTS).long()]
    d2 = _sqdist(pooled, pooled)
    off = ~torch.eye(len(pooled), dtype=torch.bool)
    return float(d2[off].median().sqrt())


def _kernel(d2: torch.Tensor, kernel: str, scales, dim: int) -> torch.Tensor:
    if kernel == "rbf":
        return sum(torch.exp(-d2 / (2.0 * s * s)) for s in scales)
    c = [2.0 * dim * s * s for s in scales]  # inverse multiquadric C / (C + d²), C = 2 d sigma²
    return sum(ci / (ci + d2) for ci in c)


def _kernel_sum(a, b, kernel, scales, dim, same: bool, block: int = 2048) -> float:
    """Sum of k(a_i, b_j) over all pairs, leaving out i == j when a and b are the same set; in blocks."""
    total = 0.0
    for i in range(0, len(a), block):
        for j in range(0, len(b), block):
            k = _kernel(_sqdist(a[i:i + block], b[j:j + block]), kernel, scales, dim)
            if same and i == j:
                k = k - torch.diag_embed(torch.diagonal(k))
            total += float(k.sum())
    return total


def mmd2_unbiased(x, y, kernel: str = "rbf", scales=None) -> float:
    """Unbiased MMD² between samples x (n, d) and y (m, d), the diagonal terms left out:

        sum_{i != j} k(x_i, x_j) / (n(n-1)) + sum_{i != j} k(y_i, y_j) / (m(m-1)) - 2 sum_{i,j} k(x_i, y_j) / (nm).

    kernel: ``"rbf"``, sum over sigma in scales of exp(-||a - b||² / (2 sigma²)), or ``"imq"``, sum of
    C / (C + ||a - b||²) with C = 2 d sigma². scales default to 0.5, 1 and 2 times the median pairwise
    distance of the pooled samples. Being unbiased, the estimate can be slightly negative when x and y come
    from the same distribution.
    """
    if kernel not in KERNELS:
        raise ValueError(f"mmd2_unbiased: kernel={kernel!r}; expected one of {', '.join(KERNELS)}")
    xs = torch.from_numpy(_as_2d_float64(_rows(x), "mmd2_unbiased(x)"))
    ys = torch.from_numpy(_as_2d_float64(_rows(y), "mmd2_unbiased(y)"))
    n, m = len(xs), len(ys)
    if n < 2 or m < 2:
        raise ValueError(f"mmd2_unbiased: each sample needs at least 2 points for the unbiased estimate; got "
                         f"n={n} and m={m}")
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(f"mmd2_unbiased: x and y need the same dimension; got x {tuple(xs.shape)}, "
                         f"y {tuple(ys.shape)}")
    if scales is None:
        med = _median_distance(xs, ys)
        scales = [f * (med if med > 0 else 1.0) for f in DEFAULT_SCALE_FACTORS]
    scales = [float(s) for s in np.atleast_1d(scales)]
    if not scales or min(scales) <= 0:
        raise ValueError(f"mmd2_unbiased: scales must be positive bandwidths; got {scales}")
    d = xs.shape[1]
    kxx = _kernel_sum(xs, xs, kernel, scales, d, same=True) / (n * (n - 1))
    kyy = _kernel_sum(ys, ys, kernel, scales, d, same=True) / (m * (m - 1))
    kxy = _kernel_sum(xs, ys, kernel, scales, d, same=False) / (n * m)
    return kxx + kyy - 2.0 * kxy
