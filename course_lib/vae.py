"""The variational autoencoder's reference losses: what assignment ``a1_vae`` grades, and nothing else.

Conventions: the encoder maps x to (mu, logvar) of q(z|x) = N(mu, diag(exp(logvar))); the decoder maps
z to Bernoulli logits of p(x|z); the prior is p(z) = N(0, I). Per-example quantities have shape (N,);
the losses the optimiser sees are means over the batch of sums over dimensions (nats per image).

The model class and its evaluator are tools, in ``course_lib.models``. The assignment's tests switch this
module off (``course_lib.grading.forbid``), so calling these functions from an answer earns nothing.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .toy import LOG_2PI


def reparameterize(mu, logvar):
    """z = mu + sigma * eps with eps ~ N(0, I): a sample whose gradient flows into mu and logvar."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, I)) per example, summed over latent dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)


def bernoulli_nll(x, logits):
    """-log Bern(x | sigmoid(logits)) per example, summed over pixels (stable for any logits)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(x, mean, logvar):
    """-log N(x | mean, exp(logvar)) per example, summed over dimensions."""
    logvar = torch.as_tensor(logvar, dtype=mean.dtype, device=mean.device).expand_as(mean)
    return 0.5 * (LOG_2PI + logvar + (x - mean).pow(2) / logvar.exp()).flatten(1).sum(1)


def negative_elbo(x, encoder, decoder, nll=bernoulli_nll):
    """(NELBO, reconstruction, KL), each a batch mean of per-example nats; one sample of z per x."""
    mu, logvar = encoder(x)
    z = reparameterize(mu, logvar)
    rec = nll(x, decoder(z))
    kl = gaussian_kl(mu, logvar)
    return (rec + kl).mean(), rec.mean(), kl.mean()


def _log_normal(z, mu, logvar):
    """log N(z | mu, exp(logvar)) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def iwae_bound(x, encoder, decoder, k: int, nll=bernoulli_nll):
    """Negative importance-weighted bound -log (1/k) sum_i p(x, z_i) / q(z_i|x), batch mean."""
    mu, logvar = encoder(x)
    n = x.shape[0]
    z = reparameterize(mu.unsqueeze(0).expand(k, *mu.shape), logvar.unsqueeze(0).expand(k, *logvar.shape))
    x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
    log_px_z = -nll(x_rep, decoder(z.reshape(k * n, -1))).view(k, n)
    log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    log_qz = _log_normal(z, mu, logvar)
    log_w = log_px_z + log_pz - log_qz
    return -(torch.logsumexp(log_w, 0) - math.log(k)).mean()
