"""Figures the course draws again and again: image grids, loss curves, 2-D latent scatters, GAN toys."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from .nets import as_images


def _as_images(x) -> np.ndarray:
    x = as_images(torch.as_tensor(x).detach().float().cpu(), "show_images", shape=None)
    return x.clamp(0, 1).numpy()


def image_grid(x, nrow: int = 8, pad: int = 1) -> np.ndarray:
    """Tile images (N, C, H, W) in [0, 1] into one (H', W') or (H', W', 3) array, ``nrow`` per row."""
    imgs = _as_images(x)
    n, c, h, w = imgs.shape
    ncol = nrow
    nrows = max(1, math.ceil(n / ncol))
    grid = np.ones((c, nrows * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.float32)
    for i in range(n):
        r, q = divmod(i, ncol)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = imgs[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def show_images(x, nrow: int = 8, title: str | None = None, ax=None, scale: float = 0.6):
    """Show a grid of images; returns the axes."""
    grid = image_grid(x, nrow)
    if ax is None:
        h, w = grid.shape[:2]
        _, ax = plt.subplots(figsize=(max(2.0, scale * w / 29), max(1.2, scale * h / 29)))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_losses(curves: dict, ax=None, smooth: int = 1, xlabel: str = "step", ylabel: str = "loss",
                title: str | None = None, logy: bool = False):
    """Plot named curves (name -> sequence); ``smooth`` > 1 draws a moving average."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for name, values in curves.items():
        v = np.asarray(list(values), dtype=float)
        if smooth > 1 and len(v) >= smooth:
            v = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(len(v)), v, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title, fontsize=10)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    return ax


def latent_scatter(z, labels=None, ax=None, title: str | None = None, s: float = 4):
    """Scatter 2-D codes, coloured by digit label when given."""
    z = torch.as_tensor(z).detach().cpu().numpy()
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"latent_scatter needs codes of shape (N, 2), got {z.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=s, alpha=0.6)
    else:
        labels = torch.as_tensor(labels).cpu().numpy()
        sc = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=s, alpha=0.7, vmin=-0.5, vmax=9.5)
        plt.colorbar(sc, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_gan_1d(target, samples=None, discriminator=None, ax=None, xlim=(-5.0, 5.0), title: str | None = None,
                bins: int = 60, ymax: float | None = None):
    """Goodfellow et al.'s figure 1 for a 1-D GAN: the data density (black, dotted), a histogram of the
    generator's samples (green) and the discriminator's D(x) (blue, dashed), on one pair of axes.

    ``target`` has ``prob(x)`` (a ``course_lib.toy.Mixture1D``); ``discriminator`` maps (N, 1) to logits.
    The y-axis stops at ``ymax`` (default: the larger of 1.05 and 1.5 x the data density's peak), so a generator
    squeezed onto a point does not flatten the other curves; a histogram bar cut off there is labelled with its height.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3))
    xs = torch.linspace(xlim[0], xlim[1], 400)
    ax.plot(xs.numpy(), target.prob(xs).numpy(), "k:", lw=2, label="data density")
    top = ymax if ymax is not None else max(1.05, 1.5 * float(target.prob(xs).max()))
    if samples is not None:
        s = torch.as_tensor(samples).detach().float().cpu().reshape(-1).numpy()
        heights, edges, _ = ax.hist(s, bins=bins, range=xlim, density=True, histtype="stepfilled", color="tab:green",
                                    alpha=0.35, label="generator samples")
        peak = int(heights.argmax())
        if heights[peak] > top:   # say how tall the cut-off bar is rather than squash the other curves
            ax.annotate(f"bar height {heights[peak]:.1f}", xy=((edges[peak] + edges[peak + 1]) / 2, top),
                        xytext=(6, -14), textcoords="offset points", fontsize=7, color="tab:green",
                        arrowprops={"arrowstyle": "-|>", "color": "tab:green", "lw": 0.8})
    if discriminator is not None:
        dev = next(discriminator.parameters()).device
        with torch.no_grad():
            d = torch.sigmoid(discriminator(xs.unsqueeze(1).to(dev))).cpu()
        ax.plot(xs.numpy(), d.numpy(), "--", color="tab:blue", label="D(x)")
    ax.set_xlim(*xlim)
    ax.set_ylim(0, top)
    ax.set_xlabel("x")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_cloud(samples, centres=None, ax=None, title: str | None = None, lim: float = 3.0, s: float = 2.0,
               color: str = "tab:green"):
    """Scatter 2-D samples (N, 2), with the target's mode centres as black crosses when given."""
    x = torch.as_tensor(samples).detach().float().cpu()
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_cloud needs points of shape (N, 2), got {tuple(x.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.scatter(x[:, 0].numpy(), x[:, 1].numpy(), s=s, alpha=0.5, color=color, linewidths=0)
    if centres is not None:
        c = torch.as_tensor(centres).float().cpu()
        ax.scatter(c[:, 0].numpy(), c[:, 1].numpy(), marker="x", color="k", s=30)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax
