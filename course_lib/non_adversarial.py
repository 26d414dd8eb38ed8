"""Generative models trained without an adversary (GLO, WAE's MMD, IMLE, GLANN): the reference versions of
what assignment ``a2_non_adversarial`` grades, and nothing else. The assignment's tests switch this module off.

    GLO     per-image codes z_i on the unit sphere, learned jointly with the generator:
            min over G and z of  sum_i loss(G(z_i), x_i),  then z_i <- z_i / ||z_i||       (Bojanowski et al. 2018)
    WAE     penalty MMD^2(q(z), p(z)) with the inverse multiquadric kernel k(a, b) = C / (C + ||a - b||^2),
            C = 2 d s for each scale s (prior N(0, I)), unbiased estimate           (Tolstikhin et al. 2018)
    IMLE    each DATA point x_i pulls its nearest generated sample towards it:
            min E_i ||x_i - G(z_{j(i)})||^2,  j(i) = argmin_j ||x_i - G(z_j)||^2     (Li and Malik 2018)
    GLANN   GLO's codes learned, then IMLE maps noise to them: x = G(project(T(e))), e ~ N(0, I)
                                                                                    (Hoshen et al. 2019)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- GLO

def project_to_sphere(z) -> torch.Tensor:
    """Each row of z (N, d) divided by its Euclidean norm (clamped at 1e-12, so a zero row stays finite).
    A new tensor (z is not changed) through which gradients flow."""
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def glo_step(G, codes, x, idx, opt, loss_fn=F.mse_loss) -> torch.Tensor:
    """One step of Generative Latent Optimisation on the images x, whose codes are the rows idx of ``codes``.

    ``codes`` is an ``nn.Parameter`` (N, d), one code per training image; ``opt`` is one optimiser over G's
    parameters and ``codes`` together, so the step moves the generator and the codes of this batch at once.
    loss = loss_fn(G(codes[idx]), x); gradients are cleared first (stale ones would add up), then backward and
    ``opt.step()``; afterwards the batch's codes are put back on the unit sphere, the only codes the generator is
    ever trained on. Returns the loss, detached.
    """
    z = codes[idx]
    loss = loss_fn(G(z), x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():   # the projection is a constraint, not part of the objective
        codes[idx] = project_to_sphere(codes[idx])
    return loss.detach()


# ---------------------------------------------------------------- WAE's MMD

def imq_kernel(a, b, c) -> torch.Tensor:
    """The inverse multiquadric kernel matrix c / (c + ||a_i - b_j||^2), shape (n, m)."""
    d2 = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)   # exact differences: no cancellation for close points
    return c / (c + d2)


def mmd2_imq(x, y, scales=(1.0,)) -> torch.Tensor:
    """Unbiased MMD^2 between samples x (n, d) and y (m, d) with the inverse multiquadric kernel summed over
    C = 2 d s, s in scales (the choice of WAE for a N(0, I) prior):

        sum_{i != j} k(x_i, x_j) / (n(n-1)) + sum_{i != j} k(y_i, y_j) / (m(m-1)) - 2 sum_{i,j} k(x_i, y_j) / (nm).

    The diagonal terms (k(x_i, x_i) = 1 for every C) are left out, which makes the estimate unbiased, and so
    possibly slightly negative for equal distributions. A 0-dim tensor that carries gradients: WAE's penalty.
    """
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"mmd2_imq: each sample needs at least 2 points for the unbiased estimate; got n={n} and m={m}")
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd2_imq: expected x (n, d) and y (m, d) of the same d; got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    d = x.shape[1]
    total = x.new_zeros(())
    for s in scales:
        c = 2.0 * d * float(s)
        kxx, kyy, kxy = imq_kernel(x, x, c), imq_kernel(y, y, c), imq_kernel(x, y, c)
        total = total + (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) \
            + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2.0 * kxy.sum() / (n * m)
    return total


# ---------------------------------------------------------------- IMLE

def imle_match(x, samples) -> torch.Tensor:
    """For each data point x_i (x of any shape (n, ...), flattened) the index of its nearest generated sample
    (squared Euclidean distance); ties go to the lowest index. int64 (n,) on x's device; no gradients.

    The direction is IMLE's point: every data point claims a sample, so no mode of the data is left without one
    (matching each sample to its nearest data point instead lets samples ignore modes: mode collapse).
    """
    with torch.no_grad():
        a = x.reshape(len(x), -1).to(torch.float64)
        b = samples.reshape(len(samples), -1).to(device=x.device, dtype=torch.float64)
        rows = max(1, 2 ** 24 // max(1, b.numel()))   # a few data points at a time: (rows, m, D) stays small
        # exact differences rather than |a|^2 - 2 a.b + |b|^2, so that equal samples give exactly equal distances;
        # argmin returns the first minimum, the lowest index
        idx = [torch.argmin((a[i:i + rows, None, :] - b[None, :, :]).pow(2).sum(-1), dim=1)
               for i in range(0, len(a), rows)]
        return torch.cat(idx).to(torch.int64)


def imle_loss(x, samples) -> torch.Tensor:
    """IMLE's loss: the mean over data points of ||x_i - samples[j(i)]||^2 (summed over features), j = imle_match.
    The gradient flows into the matched samples only."""
    idx = imle_match(x, samples.detach())
    diff = x.reshape(len(x), -1) - samples.reshape(len(samples), -1)[idx]
    return diff.pow(2).sum(1).mean()


# ---------------------------------------------------------------- GLANN

def glann_sample(mapper, G, n: int, noise_dim: int, generator=None) -> torch.Tensor:
    """GLANN's sampler: e = torch.randn(n, noise_dim, generator=generator) (drawn on the CPU, so a seeded
    generator gives the same samples on any device, then moved to the device of the mapper's first parameter),
    codes = project_to_sphere(mapper(e)) (GLO's generator only ever saw unit codes), and G(codes); no gradients."""
    with torch.no_grad():
        e = torch.randn(n, noise_dim, generator=generator)
        param = next(iter(mapper.parameters()), None) if hasattr(mapper, "parameters") else None
        if param is not None:
            e = e.to(param.device)
        return G(project_to_sphere(mapper(e)))
