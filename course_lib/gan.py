"""GANs: the theory's two formulas, the classic losses, the networks and an alternating training loop.

Conventions: a discriminator returns *logits* (N,), and D(x) = sigmoid(logit). Losses are written with a
``criterion(logits, target)`` (binary cross-entropy on logits by default), so that they stay finite when the
discriminator is confident, which is exactly when the saturating loss goes flat:

    discriminator:             max_D  E log D(x) + E log(1 - D(G(z)))
    generator, minimax:        min_G  E log(1 - D(G(z)))        (saturates early in training)
    generator, non-saturating: min_G -E log D(G(z))             (Goodfellow et al. 2014, section 3)

With BCE(l, t) = -[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))], the three are
BCE(D(x), 1) + BCE(D(G(z)), 0), -BCE(D(G(z)), 0) and BCE(D(G(z)), 1).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .train import History, progress


def bce_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of logits against targets in {0, 1} (the default criterion)."""
    return F.binary_cross_entropy_with_logits(logits, target)


# ---------------------------------------------------------------- theory

def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g) = sigmoid(log p_data - log p_g), elementwise.

    Written with log-densities because both densities underflow to 0 in the tails, where p / (p + q) is
    0 / 0. Where neither distribution has mass (both -inf), D* is arbitrary; we return 1/2.
    """
    both_zero = torch.isneginf(log_p_data) & torch.isneginf(log_p_g)
    diff = torch.where(both_zero, torch.zeros_like(log_p_data), log_p_data - log_p_g)
    return torch.sigmoid(diff)


def jsd(log_p: torch.Tensor, log_q: torch.Tensor, dx: float) -> torch.Tensor:
    """Jensen-Shannon divergence in nats from log-densities on a uniform grid of spacing ``dx``:

        JSD = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2,

    each integral a Riemann sum. 0 log 0 counts as 0, so densities may be exactly zero (-inf logs).
    """
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)

    def kl_to_m(log_a):
        a = log_a.exp()
        return torch.where(a > 0, a * (log_a - log_m), torch.zeros_like(a)).sum() * dx

    return 0.5 * kl_to_m(log_p) + 0.5 * kl_to_m(log_q)


# ---------------------------------------------------------------- losses

def discriminator_loss(D, G, x, z, criterion=bce_logits):
    """criterion(D(x), 1) + criterion(D(G(z)), 0): minus the value function, for D to minimise.

    G(z) is detached: the discriminator's step must not compute (or leave) gradients in the generator.
    """
    real = D(x)
    fake = D(G(z).detach())
    return criterion(real, torch.ones_like(real)) + criterion(fake, torch.zeros_like(fake))


def generator_loss_minimax(D, G, z, criterion=bce_logits):
    """E log(1 - D(G(z))) = -criterion(D(G(z)), 0): the generator's side of the minimax game."""
    fake = D(G(z))
    return -criterion(fake, torch.zeros_like(fake))


def generator_loss_nonsaturating(D, G, z, criterion=bce_logits):
    """-E log D(G(z)) = criterion(D(G(z)), 1): same fixed point, strong gradients when D rejects G(z)."""
    fake = D(G(z))
    return criterion(fake, torch.ones_like(fake))


GENERATOR_LOSSES = {"minimax": generator_loss_minimax, "nonsaturating": generator_loss_nonsaturating}


def alternating_step(G, D, opt_g, opt_d, real_batches: Sequence[torch.Tensor], sample_z: Callable,
                     generator_loss=generator_loss_nonsaturating, criterion=bce_logits) -> dict:
    """One round of Goodfellow et al.'s algorithm 1: k = len(real_batches) discriminator steps, then one
    generator step. ``sample_z(n)`` draws n codes. Returns the last {"d_loss", "g_loss"} as floats.

    The discriminator's loss detaches G(z), so its steps leave the generator's gradients untouched; the
    discriminator is frozen during the generator's step, so that step leaves no gradient in D.
    """
    if len(real_batches) == 0:
        raise ValueError("alternating_step: expected at least one real batch (k >= 1), got none")
    for x in real_batches:
        d_loss = discriminator_loss(D, G, x, sample_z(len(x)), criterion)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
    D.requires_grad_(False)
    try:
        g_loss = generator_loss(D, G, sample_z(len(real_batches[-1])), criterion)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    finally:
        D.requires_grad_(True)
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}


# ---------------------------------------------------------------- networks

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


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> points (N, out_dim): ``depth`` hidden ReLU layers of width ``hidden``, linear output.

    The toy-problem generator (1-D and 2-D targets); PyTorch's default initialisation.
    """

    def __init__(self, z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.z_dim = z_dim
        layers, width = [], z_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim))

    def forward(self, z):
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"MLPGenerator expects codes of shape (N, {self.z_dim}); got {tuple(z.shape)}")
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """points (N, in_dim) -> logits (N,): ``depth`` hidden LeakyReLU(0.2) layers of width ``hidden``."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.in_dim = in_dim
        layers, width = [], in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"MLPDiscriminator expects points of shape (N, {self.in_dim}); got {tuple(x.shape)}")
        return self.net(x).squeeze(1)


@torch.no_grad()
def generate(G, n: int, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
    """n samples G(z) on the CPU, z ~ N(0, I) from a private seeded RNG (the global one is untouched).

    The generator stays in the mode it is in: with BatchNorm, switching to eval mode changes the samples.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"generate: expected a positive number of samples n, got {n!r}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    dev = next(G.parameters()).device
    return torch.cat([G(z[i:i + batch_size].to(dev)).cpu() for i in range(0, n, batch_size)])


def train_gan(generator, discriminator, data, steps: int, batch_size: int = 64, k: int = 1,
              loss: str = "nonsaturating", lr: float = 2e-4, betas=(0.5, 0.999), seed: int = 0,
              desc: str = "GAN", callback: Callable | None = None, probe_every: int = 10) -> History:
    """Run ``steps`` rounds of :func:`alternating_step` (k discriminator steps, one generator step) with Adam.

    ``data`` is a tensor of training examples (batches are drawn with replacement) or a sampler
    ``data(n, generator)`` returning n fresh points (the toy distributions). Batches and codes come from a
    private RNG seeded with ``seed``. Records ``d_loss`` and ``g_loss`` at every step and, every
    ``probe_every`` steps, the mean D(x) on real and generated batches (``d_real``, ``d_fake``, at steps
    ``probe_step``). ``callback(step, generator, discriminator)`` runs after each step (step counts from 1).
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"loss={loss!r}: expected one of {', '.join(GENERATOR_LOSSES)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}: expected a positive number of discriminator steps per generator step")
    dev = next(generator.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    history = History()

    def real_batch():
        if callable(data):
            return data(batch_size, gen).to(dev)
        return data[torch.randint(len(data), (batch_size,), generator=gen)].to(dev)

    def sample_z(n):
        return torch.randn(n, generator.z_dim, generator=gen).to(dev)

    for step in progress(range(1, steps + 1), desc=desc):
        out = alternating_step(generator, discriminator, opt_g, opt_d, [real_batch() for _ in range(k)],
                               sample_z, GENERATOR_LOSSES[loss])
        if not (math.isfinite(out["d_loss"]) and math.isfinite(out["g_loss"])):
            raise FloatingPointError(f"{desc}: a loss became non-finite at step {step} (D {out['d_loss']}, "
                                     f"G {out['g_loss']}); lower the learning rate")
        history.log_step(out)
        if probe_every and (step % probe_every == 0 or step == 1):
            with torch.no_grad():
                history.steps["probe_step"].append(step)
                history.steps["d_real"].append(torch.sigmoid(discriminator(real_batch())).mean().item())
                history.steps["d_fake"].append(torch.sigmoid(discriminator(generator(sample_z(batch_size)))).mean().item())
        if callback is not None:
            callback(step, generator, discriminator)
    return history
