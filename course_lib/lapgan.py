"""Laplacian pyramids and a Laplacian pyramid of GANs (LAPGAN): the reference versions of
what assignment ``a7_lapgan`` grades, and nothing else. The assignment's tests switch this module off.

Images are (B, C, H, W), any B >= 1 and C >= 1, float32 or float64, on any device; outputs follow the input's
device and dtype.

    downsample      d(x) = (K * pad_reflect(x, 2))[..., ::2, ::2], each channel blurred on its own (depthwise) with
                    K = b b^T, b = [1, 4, 6, 4, 1] / 16; H and W even and >= 4          (Burt and Adelson 1983)
    upsample        u(x) = bilinear interpolation by 2, align_corners=False
    pyramid         I_0 = x, I_{k+1} = d(I_k); h_k = I_k - u(I_{k+1});
                    laplacian_pyramid(x, L) = [h_0, ..., h_{L-2}, I_{L-1}] (fine to coarse)
    reconstruct     I = pyramid[-1]; I <- u(I) + h for h in reversed(pyramid[:-1]): x exactly (up to rounding)
    level inputs    G_k sees [l, z]: l = u(I_{k+1}) and one noise plane z (B, 1, H, W) as an extra colour plane;
                    D_k sees [l + h, l]: the image the residual makes, beside the coarse image it was drawn for
                                                                                    (Denton et al. 2015)
    sampling        I = coarse.sample(n, generator); for each G (coarse to fine): l = u(I), z ~ N(0, 1) drawn on
                    the CPU from ``generator`` (n, 1, H, W), I = l + G([l, z]); returns every level's image
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)


def _check_images(x, who: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"{who}: expected images (B, C, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Blur each channel with the 5x5 binomial kernel after reflect padding of 2, then keep every other pixel:
    (B, C, H, W) -> (B, C, H / 2, W / 2). ValueError unless H and W are even and at least 4."""
    _check_images(x, "downsample")
    b, c, h, w = x.shape
    if h % 2 or w % 2 or h < 4 or w < 4:
        raise ValueError(f"downsample: expected H and W even and at least 4, got images of shape {tuple(x.shape)}")
    k1 = torch.tensor(_BINOMIAL, dtype=x.dtype, device=x.device) / 16
    kernel = torch.outer(k1, k1).expand(c, 1, 5, 5)
    blurred = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=c)
    return blurred[..., ::2, ::2]


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Bilinear interpolation by 2 (align_corners=False): (B, C, H, W) -> (B, C, 2H, 2W)."""
    _check_images(x, "upsample")
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list:
    """[h_0, ..., h_{levels-2}, I_{levels-1}], fine to coarse, with I_0 = x, I_{k+1} = downsample(I_k) and
    h_k = I_k - upsample(I_{k+1}). ``levels = 1`` gives [x]. ValueError for levels < 1, or unless H and W are
    divisible by 2 ** (levels - 1) with every downsampled image at least 4 x 4 before it is downsampled."""
    _check_images(x, "laplacian_pyramid")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"laplacian_pyramid: expected levels >= 1, got {levels!r}")
    h, w = x.shape[-2:]
    f = 2 ** (levels - 1)
    if levels > 1 and (h % f or w % f or h // f < 2 or w // f < 2):
        raise ValueError(f"laplacian_pyramid: {levels} levels need H and W divisible by {f} (and at least {2 * f}), "
                         f"got images of shape {tuple(x.shape)}")
    pyramid, image = [], x
    for _ in range(levels - 1):
        smaller = downsample(image)
        pyramid.append(image - upsample(smaller))
        image = smaller
    pyramid.append(image)
    return pyramid


def reconstruct(pyramid) -> torch.Tensor:
    """Undo :func:`laplacian_pyramid`: I = pyramid[-1], then I = upsample(I) + h for h from coarse to fine."""
    pyramid = list(pyramid)
    if not pyramid:
        raise ValueError("reconstruct: expected a non-empty pyramid [h_0, ..., I_coarse], got an empty one")
    image = pyramid[-1]
    for h in reversed(pyramid[:-1]):
        image = upsample(image) + h
    return image


def generator_input(l: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """[l, z] along the channels: l (B, C, H, W) the upsampled coarse image, z (B, 1, H, W) one noise plane ->
    (B, C + 1, H, W). ValueError for mismatched batch or spatial sizes, or z with other than one channel."""
    _check_images(l, "generator_input")
    _check_images(z, "generator_input")
    if z.shape[1] != 1 or z.shape[0] != l.shape[0] or z.shape[-2:] != l.shape[-2:]:
        raise ValueError(f"generator_input: expected z of shape {(l.shape[0], 1, *l.shape[-2:])} (one noise plane "
                         f"per image of l {tuple(l.shape)}), got z of shape {tuple(z.shape)}")
    return torch.cat([l, z], dim=1)


def discriminator_input(h: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
    """[l + h, l] along the channels: (B, 2C, H, W). ValueError unless h and l have the same shape."""
    _check_images(h, "discriminator_input")
    _check_images(l, "discriminator_input")
    if h.shape != l.shape:
        raise ValueError(f"discriminator_input: expected h and l of the same shape, got h {tuple(h.shape)} and l "
                         f"{tuple(l.shape)}")
    return torch.cat([l + h, l], dim=1)


@torch.no_grad()
def sample_coarse_to_fine(coarse, generators, n: int, generator: torch.Generator | None = None) -> list:
    """The images after every level, coarse to fine: [I_coarse, ..., I_final] (len(generators) + 1, unclamped).

    ``coarse.sample(n, generator)`` first; then for each G of ``generators`` (coarse to fine) l = upsample(I),
    z = torch.randn(n, 1, H, W, generator=generator) drawn on the CPU and moved to l's device, and
    I = l + G(generator_input(l, z))."""
    image = coarse.sample(n, generator=generator)
    images = [image]
    for G in generators:
        low = upsample(image)
        z = torch.randn(n, 1, *low.shape[-2:], generator=generator).to(device=low.device, dtype=low.dtype)
        image = low + G(generator_input(low, z))
        images.append(image)
    return images
