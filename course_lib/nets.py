"""Encoders and decoders for 28x28 images.

Every module takes images (N, 1, 28, 28) or flat vectors (N, 784) and decoders return logits
(N, 1, 28, 28): apply ``torch.sigmoid`` for pixel means, or pass logits straight to a Bernoulli loss.
"""
from __future__ import annotations

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZE = 28 * 28


def _check_images(x: torch.Tensor, who: str) -> torch.Tensor:
    if x.dim() == 2 and x.shape[1] == IMAGE_SIZE:
        return x.view(-1, *IMAGE_SHAPE)
    if x.dim() == 4 and tuple(x.shape[1:]) == IMAGE_SHAPE:
        return x
    if x.dim() == 3 and tuple(x.shape[1:]) == (28, 28):
        return x.unsqueeze(1)
    raise ValueError(f"{who} expects images of shape (N, 1, 28, 28) or (N, 784); got {tuple(x.shape)}")


class MLPEncoder(nn.Module):
    """784 -> hidden -> ... -> out_dim, ReLU between layers."""

    def __init__(self, out_dim: int, hidden=(400,)):
        super().__init__()
        dims = [IMAGE_SIZE, *hidden]
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Linear(dims[-1], out_dim))

    def forward(self, x):
        return self.body(_check_images(x, type(self).__name__).flatten(1))


class MLPDecoder(nn.Module):
    """z_dim -> hidden -> ... -> 784 logits, reshaped to (N, 1, 28, 28)."""

    def __init__(self, z_dim: int, hidden=(400,)):
        super().__init__()
        dims = [z_dim, *hidden]
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Linear(dims[-1], IMAGE_SIZE))

    def forward(self, z):
        return self.body(z).view(-1, *IMAGE_SHAPE)


class ConvEncoder(nn.Module):
    """Two stride-2 convolutions (28 -> 14 -> 7), then a hidden dense layer, then ``out_dim``."""

    def __init__(self, out_dim: int, channels: int = 16, hidden: int = 256):
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * c * 7 * 7, hidden), nn.ReLU(),
            nn.Linear(hidden, out_dim))

    def forward(self, x):
        return self.body(_check_images(x, type(self).__name__))


class ConvDecoder(nn.Module):
    """The mirror of ``ConvEncoder``: dense to 7x7 feature maps, two stride-2 transposed convolutions."""

    def __init__(self, z_dim: int, channels: int = 16, hidden: int = 256):
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, 2 * c * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * c, 7, 7)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, 2, 1))

    def forward(self, z):
        return self.body(z)


class GaussianHead(nn.Module):
    """Wraps an encoder with output size 2*z_dim and splits it into (mean, log-variance)."""

    def __init__(self, body: nn.Module, z_dim: int):
        super().__init__()
        self.body, self.z_dim = body, z_dim

    def forward(self, x):
        h = self.body(x)
        if h.shape[-1] != 2 * self.z_dim:
            raise ValueError(f"GaussianHead: the encoder returned {h.shape[-1]} features, expected 2 * z_dim = "
                             f"{2 * self.z_dim}")
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar


def gaussian_encoder(z_dim: int, kind: str = "mlp", **kwargs) -> GaussianHead:
    """An encoder returning (mu, logvar) of q(z|x): ``kind`` is ``"mlp"`` or ``"conv"``."""
    net = {"mlp": MLPEncoder, "conv": ConvEncoder}.get(kind)
    if net is None:
        raise ValueError(f"kind={kind!r}: expected 'mlp' or 'conv'")
    return GaussianHead(net(2 * z_dim, **kwargs), z_dim)


def decoder(z_dim: int, kind: str = "mlp", **kwargs) -> nn.Module:
    """A decoder from z to Bernoulli logits (N, 1, 28, 28): ``kind`` is ``"mlp"`` or ``"conv"``."""
    net = {"mlp": MLPDecoder, "conv": ConvDecoder}.get(kind)
    if net is None:
        raise ValueError(f"kind={kind!r}: expected 'mlp' or 'conv'")
    return net(z_dim, **kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
