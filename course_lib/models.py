"""Model classes the course trains and evaluates: the variational autoencoder, and its evaluator.

These are tools: they never hold an assignment's answer, and grading never switches them off. The VAE's loss
lives in ``course_lib.vae`` (the reference answers of assignment 1); the model only computes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

from . import nets


class VAE(nn.Module):
    """An encoder giving (mu, logvar) of q(z|x), a decoder giving Bernoulli logits of p(x|z), a N(0, I) prior.

    ``model(x)`` returns ``(logits, mu, logvar)`` for one reparameterised sample z ~ q(z|x); the caller turns
    them into a loss. ``model.sample(n, generator)`` follows the course's sampling contract.
    """

    def __init__(self, z_dim: int = 20, kind: str = "mlp", **kwargs):
        super().__init__()
        self.z_dim = z_dim
        self.encoder = nets.gaussian_encoder(z_dim, kind, **kwargs)
        self.decoder = nets.decoder(z_dim, kind, **kwargs)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = Normal(mu, torch.exp(0.5 * logvar)).rsample()
        return self.decoder(z), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pixel means sigmoid(decoder(z)) for n codes z ~ p(z) drawn on the CPU from ``generator``; on the
        model's device."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"VAE.sample: expected a positive number of samples n, got {n!r}")
        dev = next(self.parameters()).device
        z = torch.randn(n, self.z_dim, generator=generator).to(dev)
        return torch.sigmoid(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x):
        """Pixel means of the decoder at the posterior mean: sigmoid(decoder(mu(x)))."""
        return torch.sigmoid(self.decoder(self.encoder(x)[0]))


@torch.no_grad()
def evaluate_nelbo(model, x: torch.Tensor, seed: int = 0, repeats: int = 5, batch_size: int = 500) -> float:
    """Test NELBO in nats per image: the mean over ``repeats`` seeded passes of single-sample estimates of
    -log p(x|z) + KL(q(z|x) || N(0, I)).

    Any model with ``encoder(x) -> (mu, logvar)`` and ``decoder(z) -> Bernoulli logits`` will do, so a grader can
    evaluate a model trained with anyone's code. The noise comes from a private generator: the global RNG is
    neither used nor changed.
    """
    if len(x) == 0:
        raise ValueError("evaluate_nelbo: expected at least one image, got an empty tensor")
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    try:
        for _ in range(repeats):
            for i in range(0, len(x), batch_size):
                xb = x[i:i + batch_size].to(dev)
                mu, logvar = model.encoder(xb)
                std = torch.exp(0.5 * logvar)
                z = mu + std * torch.randn(mu.shape, generator=gen).to(dev)
                rec = F.binary_cross_entropy_with_logits(model.decoder(z), xb, reduction="sum")
                kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(std))).sum()
                total += float(rec + kl)
    finally:
        model.train(was_training)
    return total / (repeats * len(x))
