"""Image-to-image translation (conditional GANs, pix2pix, CycleGAN): the reference versions of
what assignment ``a6_image_translation`` grades, and nothing else. The assignment's tests switch this module off.

    cGAN inputs     G gets [z, one_hot(y)] (N, d + K); D gets the image with K label maps appended as channels,
                    channel C + k equal to 1 everywhere when y = k                  (Mirza and Osindero 2014)
    U-Net skips     each decoder conv sees cat([upsampled decoder features, matching encoder features], dim=1)
                                                                                    (Ronneberger et al. 2015)
    PatchGAN        out = floor((size + 2p - k) / s) + 1 per layer; receptive field r <- (r - 1) s + k from the
                    output back to the input: 70 for [(4, 2, 1)] * 3 + [(4, 1, 1)] * 2   (Isola et al. 2017)
    pix2pix G       BCE-with-logits(D(x, G(x)), 1) + lam * mean |G(x) - y|,  lam = 100
    CycleGAN G      LSGAN mean (D_b(G_ab(a)) - 1)^2 + mean (D_a(G_ba(b)) - 1)^2
                    + lam_cycle (mean |G_ba(G_ab(a)) - a| + mean |G_ab(G_ba(b)) - b|)
                    + lam_identity lam_cycle (mean |G_ab(b) - b| + mean |G_ba(a) - a|)   (Zhu et al. 2017)
    image pool      a history of up to ``size`` generated images; once full, each new image is, with
                    probability 1/2, swapped for a stored one                  (Shrivastava et al. 2017)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- conditional GAN inputs


def _check_labels(labels, n_classes: int, who: str) -> torch.Tensor:
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"{who}: expected a 1-D tensor of integer labels, got {labels.dtype} "
                         f"{tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{who}: labels must lie in 0..{n_classes - 1} (n_classes = {n_classes}), got labels "
                         f"from {labels.min().item()} to {labels.max().item()}")
    return labels.long()


def cgan_generator_input(z, labels, n_classes: int) -> torch.Tensor:
    """[z, one_hot(labels)] along dim 1: (N, d + n_classes) in z's dtype. Labels outside 0..n_classes-1 raise
    ValueError."""
    labels = _check_labels(labels, n_classes, "cgan_generator_input")
    onehot = F.one_hot(labels.to(z.device), n_classes).to(z.dtype)
    return torch.cat([z, onehot], dim=1)


def cgan_discriminator_input(x, labels, n_classes: int) -> torch.Tensor:
    """Images (N, C, H, W) followed by n_classes label maps: (N, C + n_classes, H, W), channel C + k equal to 1
    everywhere for the images whose label is k and 0 elsewhere. Labels outside 0..n_classes-1 raise ValueError."""
    labels = _check_labels(labels, n_classes, "cgan_discriminator_input")
    n, _, h, w = x.shape
    maps = F.one_hot(labels.to(x.device), n_classes).to(x.dtype)[:, :, None, None].expand(n, n_classes, h, w)
    return torch.cat([x, maps], dim=1)


# ---------------------------------------------------------------- the U-Net's skips


class SkipUNet(nn.Module):
    """A small U-Net: a stem conv, ``depth`` stride-2 encoder convs (``down``), ``depth`` decoder convs (``up``)
    that each see [upsampled decoder features, matching encoder features], and a 1x1 head. ReLU after every
    conv but the head."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 8, depth: int = 2):
        super().__init__()
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.depth = depth
        self.stem = nn.Conv2d(in_channels, chans[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1) for i in range(depth))
        self.up = nn.ModuleList(nn.Conv2d(chans[i + 1] + chans[i], chans[i], 3, padding=1)
                                for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], out_channels, 1)

    def forward(self, x):
        h = F.relu(self.stem(x))
        skips = []
        for conv in self.down:
            skips.append(h)
            h = F.relu(conv(h))
        for conv, skip in zip(self.up, reversed(skips)):
            h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = F.relu(conv(torch.cat([h, skip], dim=1)))
        return self.head(h)


# ---------------------------------------------------------------- PatchGAN geometry


def patchgan_output_size(size: int, layers) -> int:
    """The side of the output map after convolutions ``layers`` = [(kernel, stride, padding), ...] applied to a
    ``size`` x ``size`` input: floor((size + 2p - k) / s) + 1 per layer. ValueError if a layer leaves less than 1."""
    for i, (k, s, p) in enumerate(layers):
        out = (size + 2 * p - k) // s + 1
        if out < 1:
            raise ValueError(f"patchgan_output_size: layer {i} (kernel {k}, stride {s}, padding {p}) gets a "
                             f"{size}x{size} input and would produce {out}x{out}")
        size = out
    return size


def receptive_field(layers) -> int:
    """The side of the input patch one output unit sees: r = 1, then r <- (r - 1) * s + k from the last layer
    back to the first. 70 for the 70x70 PatchGAN [(4, 2, 1)] * 3 + [(4, 1, 1)] * 2."""
    r = 1
    for k, s, _ in reversed(list(layers)):
        r = (r - 1) * s + k
    return r


# ---------------------------------------------------------------- pix2pix


def pix2pix_generator_loss(D, G, x, y, lam: float = 100.0) -> torch.Tensor:
    """mean BCE-with-logits(D(x, G(x)), 1) + lam * mean |G(x) - y|: fool the conditional discriminator and stay
    close to the target. D sees the input and the output; its logit map may have any shape."""
    fake = G(x)
    logits = D(x, fake)
    adversarial = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    return adversarial + lam * (fake - y).abs().mean()


# ---------------------------------------------------------------- CycleGAN


def cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b, lam_cycle: float = 10.0,
                            lam_identity: float = 0.5) -> torch.Tensor:
    """Both generators' loss: LSGAN terms (D's output pushed to 1) + lam_cycle * the two cycle L1s
    + lam_identity * lam_cycle * the two identity L1s (as in the authors' code)."""
    fake_b, fake_a = G_ab(a), G_ba(b)
    adversarial = ((D_b(fake_b) - 1) ** 2).mean() + ((D_a(fake_a) - 1) ** 2).mean()
    cycle = (G_ba(fake_b) - a).abs().mean() + (G_ab(fake_a) - b).abs().mean()
    identity = (G_ab(b) - b).abs().mean() + (G_ba(a) - a).abs().mean()
    return adversarial + lam_cycle * cycle + lam_identity * lam_cycle * identity


class ImagePool:
    """The history of generated images a CycleGAN discriminator is trained on (Shrivastava et al. 2017).

    ``query(images)`` handles the images one at a time, in batch order: while the pool holds fewer than ``size``
    images, the image is stored (a detached clone) and returned; otherwise p = torch.rand(1, generator).item(),
    and if p > 0.5, i = torch.randint(0, size, (1,), generator).item(): stored image i is returned and the new one
    takes its place; else the new image is returned (no second draw). ``size = 0``: the batch unchanged.
    Returns a new detached tensor of the batch's shape.
    """

    def __init__(self, size: int = 50, generator: torch.Generator | None = None):
        self.size, self.generator, self.images = size, generator, []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image.clone())
            elif torch.rand(1, generator=self.generator).item() > 0.5:
                i = torch.randint(0, self.size, (1,), generator=self.generator).item()
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image.clone())
        return torch.stack(out)
