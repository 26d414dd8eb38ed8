"""The variational autoencoder: reference losses, the model, and an evaluator.

Conventions: the encoder maps x to (mu, logvar) of q(z|x) = N(mu, diag(exp(logvar))); the decoder maps
z to Bernoulli logits of p(x|z); the prior is p(z) = N(0, I). Per-example quantities have shape (N,);
the losses the optimiser sees are means over the batch of sums over dimensions (nats per image).

The assignment ``a1_vae`` asks students to write these functions; its tests switch this module off.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import nets

LOG_2PI = math.log(2 * math.pi)


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


def reparameterize(mu, logvar):
    """z = mu + sigma * eps with eps ~ N(0, I): a sample whose gradient flows into mu and logvar."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, I)) per example, summed over latent dimensions."""
    return 0.5 * _flat(mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def bernoulli_nll(x, logits):
    """-log Bern(x | sigmoid(logits)) per example, summed over pixels (stable for any logits)."""
    return _flat(F.binary_cross_entropy_with_logits(logits, x, reduction="none")).sum(1)


def gaussian_nll(x, mean, logvar):
    """-log N(x | mean, exp(logvar)) per example, summed over dimensions."""
    logvar = torch.as_tensor(logvar, dtype=mean.dtype, device=mean.device).expand_as(mean)
    return 0.5 * _flat(LOG_2PI + logvar + (x - mean).pow(2) / logvar.exp()).sum(1)


def negative_elbo(x, encoder, decoder, nll=bernoulli_nll):
    """(NELBO, reconstruction, KL), each a batch mean of per-example nats; one sample of z per x."""
    mu, logvar = encoder(x)
    z = reparameterize(mu, logvar)
    rec = nll(x, decoder(z))
    kl = gaussian_kl(mu, logvar)
    return (rec + kl).mean(), rec.mean(), kl.mean()


def log_normal(z, mu, logvar):
    """log N(z | mu, exp(logvar)) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def iwae_bound(x, encoder, decoder, k: int, nll=bernoulli_nll):
    """Negative importance-weighted bound -log (1/k) sum_i p(x, z_i) / q(z_i|x), batch mean."""
    mu, logvar = encoder(x)
    n = x.shape[0]
    z = reparameterize(mu.unsqueeze(0).expand(k, *mu.shape), logvar.unsqueeze(0).expand(k, *logvar.shape))
    x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
    log_px_z = -nll(x_rep, decoder(z.reshape(k * n, -1))).view(k, n)
    log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    log_qz = log_normal(z, mu, logvar)
    log_w = log_px_z + log_pz - log_qz
    return -(torch.logsumexp(log_w, 0) - math.log(k)).mean()


class VAE(nn.Module):
    """An encoder giving (mu, logvar) and a decoder giving Bernoulli logits, with a N(0, I) prior."""

    def __init__(self, z_dim: int = 20, kind: str = "mlp", **kwargs):
        super().__init__()
        self.z_dim = z_dim
        self.encoder = nets.gaussian_encoder(z_dim, kind, **kwargs)
        self.decoder = nets.decoder(z_dim, kind, **kwargs)

    def forward(self, x):
        return negative_elbo(x, self.encoder, self.decoder)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pixel means sigmoid(decoder(z)) for n draws z ~ p(z)."""
        dev = next(self.parameters()).device
        z = torch.randn(n, self.z_dim, generator=generator).to(dev)
        return torch.sigmoid(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x):
        return torch.sigmoid(self.decoder(self.encoder(x)[0]))


@torch.no_grad()
def evaluate_nelbo(model: VAE, x: torch.Tensor, seed: int = 0, repeats: int = 5, batch_size: int = 500) -> float:
    """Test NELBO in nats per image: mean over ``repeats`` seeded passes of single-sample ELBOs.

    Uses only this module, so a grader can evaluate a model trained with anyone's code.
    """
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    total = 0.0
    try:
        for _ in range(repeats):
            for i in range(0, len(x), batch_size):
                xb = x[i:i + batch_size].to(dev)
                mu, logvar = model.encoder(xb)
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape).to(dev)
                total += float((bernoulli_nll(xb, model.decoder(z)) + gaussian_kl(mu, logvar)).sum())
    finally:
        torch.random.set_rng_state(gen_state)
        model.train(was_training)
    return total / (repeats * len(x))
