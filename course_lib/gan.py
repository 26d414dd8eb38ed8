"""GAN building blocks: DCGAN networks for 28x28 images, the classic losses, and an alternating training loop.

Conventions: the discriminator returns *logits* (N,); D(x) = sigmoid(logit). The losses take logits so they
stay finite when the discriminator is confident, which is exactly when the saturating loss goes flat.

    discriminator:            max_D  E log D(x) + E log(1 - D(G(z)))
    generator, minimax:       min_G  E log(1 - D(G(z)))        (saturates early in training)
    generator, non-saturating: min_G -E log D(G(z))            (Goodfellow et al. 2014, section 3)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .train import History, progress


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. (2016): conv weights ~ N(0, 0.02); BatchNorm weights ~ N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGenerator(nn.Module):
    """z (N, z_dim) -> images (N, 1, 28, 28) in [0, 1]: dense to 7x7, two stride-2 transposed convolutions,
    BatchNorm and ReLU inside, a sigmoid at the end (the course's images live in [0, 1], not [-1, 1])."""

    def __init__(self, z_dim: int = 64, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * width * 7 * 7, bias=False), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.BatchNorm2d(2 * width), nn.ReLU(True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid())
        self.apply(dcgan_init)

    def forward(self, z):
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"DCGenerator expects codes of shape (N, {self.z_dim}); got {tuple(z.shape)}")
        return self.net(z)


class DCDiscriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N,): strided convolutions instead of pooling, LeakyReLU(0.2),
    BatchNorm after the first layer only (as in DCGAN)."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, True),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))
        self.apply(dcgan_init)

    def forward(self, x):
        if x.dim() == 2 and x.shape[1] == 784:
            x = x.view(-1, 1, 28, 28)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"DCDiscriminator expects images (N, 1, 28, 28) or (N, 784); got {tuple(x.shape)}")
        return self.net(x).squeeze(1)


def discriminator_loss(real_logits, fake_logits):
    """-[E log D(x) + E log(1 - D(G(z)))], from logits."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss_minimax(fake_logits):
    """E log(1 - D(G(z))) = -softplus(logit) averaged: the generator minimises it (saturating)."""
    return -F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits):
    """-E log D(G(z)) = softplus(-logit) averaged."""
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES = {"minimax": generator_loss_minimax, "nonsaturating": generator_loss_nonsaturating}


def train_gan(generator, discriminator, data: torch.Tensor, steps: int, batch_size: int = 64, k: int = 1,
              loss: str = "nonsaturating", lr: float = 2e-4, betas=(0.5, 0.999), seed: int = 0,
              desc: str = "GAN") -> History:
    """Alternate ``k`` discriminator steps and one generator step, ``steps`` times.

    The generator's parameters are frozen while the discriminator trains (and vice versa), so no gradient
    is computed for the player that is not moving. Records ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake``
    (mean D on real and generated batches) at every generator step.
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"loss={loss!r}: expected one of {', '.join(GENERATOR_LOSSES)}")
    g_loss_fn = GENERATOR_LOSSES[loss]
    dev = next(generator.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    z_dim = generator.z_dim
    history = History()

    def batch():
        return data[torch.randint(len(data), (batch_size,), generator=gen)].to(dev)

    def noise():
        return torch.randn(batch_size, z_dim, generator=gen).to(dev)

    for _ in progress(range(steps), desc=desc):
        generator.requires_grad_(False)
        discriminator.requires_grad_(True)
        for _ in range(k):
            real_logits = discriminator(batch())
            fake_logits = discriminator(generator(noise()))
            d_loss = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        generator.requires_grad_(True)
        discriminator.requires_grad_(False)
        fake_logits = discriminator(generator(noise()))
        g_loss = g_loss_fn(fake_logits)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        opt_g.zero_grad(set_to_none=True)  # so the generator holds no gradient at all during the D steps
        if not (math.isfinite(d_loss.item()) and math.isfinite(g_loss.item())):
            raise FloatingPointError(f"{desc}: a loss became non-finite (D {d_loss.item()}, G {g_loss.item()})")
        history.log_step({"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                          "d_real": torch.sigmoid(real_logits).mean().detach(),
                          "d_fake": torch.sigmoid(fake_logits).mean().detach()})
    discriminator.requires_grad_(True)
    return history
