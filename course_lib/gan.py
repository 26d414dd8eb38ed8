"""GANs: the reference versions of what assignment ``a3_gan_theory`` grades, and nothing else: the theory's two
formulas, the classic losses and one round of the alternating algorithm.
The players (``ConvGenerator``, ``MLPGenerator``, ...) are tools in ``course_lib.nets``; the general training
step is ``course_lib.train.adversarial_step``, and ``course_lib.train.train_gan`` trains a GAN with the losses it
is given. The assignment's tests switch this module off.

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
