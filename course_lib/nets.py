"""Networks the course builds its models from: MLP and convolutional encoders/decoders for 28x28 images,
and the players of a GAN (generators map codes to samples; discriminators map samples to logits (N,)).

Decoders return logits (N, 1, 28, 28): apply ``torch.sigmoid`` for pixel means, or pass logits straight to a
Bernoulli loss. Image generators return pixel values in [0, 1], the range of the course's data.

Every generator samples the same way (the course's sampling contract): ``G.sample(n, generator=None)``
draws codes z ~ N(0, I) on the CPU from ``generator`` (so a seed gives the same codes on every device) and
returns n samples on the generator's device, without gradients and without changing its train/eval mode.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZE = 28 * 28


def as_images(x: torch.Tensor, who: str, shape=IMAGE_SHAPE) -> torch.Tensor:
    """``x`` as images (N, C, H, W), or a ValueError naming ``who`` and the shape found.

    With ``shape=(C, H, W)``, accepts (N, C, H, W), flat rows (N, C*H*W) and, for one channel, (N, H, W).
    With ``shape=None``, accepts any square images with 1 or 3 channels (flat rows must be square, 1 channel).
    """
    if shape is None:
        if x.dim() == 2:
            side = math.isqrt(x.shape[1])
            if side * side != x.shape[1]:
                raise ValueError(f"{who}: cannot show vectors of length {x.shape[1]} as square images")
            return x.reshape(-1, 1, side, side)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"{who}: expected images (N, 1|3, H, W), got shape {tuple(x.shape)}")
        return x
    c, h, w = shape
    if x.dim() == 2 and x.shape[1] == c * h * w:
        return x.reshape(-1, c, h, w)
    if x.dim() == 3 and c == 1 and tuple(x.shape[1:]) == (h, w):
        return x.unsqueeze(1)
    if x.dim() == 4 and tuple(x.shape[1:]) == (c, h, w):
        return x
    raise ValueError(f"{who} expects images of shape (N, {c}, {h}, {w}) or (N, {c * h * w}); got {tuple(x.shape)}")


def mlp(dims, activation=nn.ReLU) -> nn.Sequential:
    """Linear layers dims[0] -> dims[1] -> ... -> dims[-1] with ``activation()`` between them (none at the end)."""
    dims = list(dims)
    if len(dims) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {dims}")
    layers = []
    for a, b in zip(dims[:-2], dims[1:-1]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers, nn.Linear(dims[-2], dims[-1]))


def _check_codes(z: torch.Tensor, z_dim: int, who: str) -> None:
    if z.dim() != 2 or z.shape[1] != z_dim:
        raise ValueError(f"{who} expects codes of shape (N, {z_dim}); got {tuple(z.shape)}")


# ---------------------------------------------------------------- encoders and decoders

class MLPEncoder(nn.Module):
    """784 -> hidden -> ... -> out_dim, ReLU between layers."""

    def __init__(self, out_dim: int, hidden=(400,)):
        super().__init__()
        self.body = mlp([IMAGE_SIZE, *hidden, out_dim])

    def forward(self, x):
        return self.body(as_images(x, type(self).__name__).flatten(1))


class MLPDecoder(nn.Module):
    """z_dim -> hidden -> ... -> 784 logits, reshaped to (N, 1, 28, 28)."""

    def __init__(self, z_dim: int, hidden=(400,)):
        super().__init__()
        self.body = mlp([z_dim, *hidden, IMAGE_SIZE])

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
        return self.body(as_images(x, type(self).__name__))


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


def _kind(kind: str, table: dict):
    if kind not in table:
        raise ValueError(f"kind={kind!r}: expected 'mlp' or 'conv'")
    return table[kind]


def gaussian_encoder(z_dim: int, kind: str = "mlp", **kwargs) -> GaussianHead:
    """An encoder returning (mu, logvar) of q(z|x): ``kind`` is ``"mlp"`` or ``"conv"``."""
    return GaussianHead(_kind(kind, {"mlp": MLPEncoder, "conv": ConvEncoder})(2 * z_dim, **kwargs), z_dim)


def decoder(z_dim: int, kind: str = "mlp", **kwargs) -> nn.Module:
    """A decoder from z to Bernoulli logits (N, 1, 28, 28): ``kind`` is ``"mlp"`` or ``"conv"``."""
    return _kind(kind, {"mlp": MLPDecoder, "conv": ConvDecoder})(z_dim, **kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ---------------------------------------------------------------- GAN players

class Generator(nn.Module):
    """Base class of the course's generators: ``z_dim`` and the sampling contract ``sample(n, generator)``."""

    z_dim: int

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes z ~ N(0, I), drawn on the CPU from ``generator`` (the global RNG when None)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{type(self).__name__}.sample: expected a positive number of samples n, got {n!r}")
        return torch.randn(n, self.z_dim, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, batch_size: int = 1000) -> torch.Tensor:
        """n samples G(z), z ~ N(0, I), on the generator's device; evaluated ``batch_size`` codes at a time.

        The generator stays in the mode it is in: with BatchNorm, eval mode gives other samples.
        """
        z = self.prior(n, generator)
        dev = next(self.parameters()).device
        return torch.cat([self(z[i:i + batch_size].to(dev)) for i in range(0, n, batch_size)])


def _normal_init(module: nn.Module) -> None:
    """Weights ~ N(0, 0.02) (N(1, 0.02) for BatchNorm), biases 0: the initialisation of Radford et al."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ConvGenerator(Generator):
    """z (N, z_dim) -> images (N, 1, 28, 28) in [0, 1]: a dense layer to 7x7 maps, then two stride-2 transposed
    convolutions, BatchNorm and ReLU inside, a sigmoid at the end (the course's images live in [0, 1]).

    DCGAN-like, not DCGAN: Radford et al.'s generator has no dense layer and ends in Tanh (assignment 3 builds
    that one). Weights start at N(0, 0.02), as theirs do.
    """

    def __init__(self, z_dim: int = 64, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * width * 7 * 7, bias=False), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.BatchNorm2d(2 * width), nn.ReLU(True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid())
        self.apply(_normal_init)

    def forward(self, z):
        _check_codes(z, self.z_dim, type(self).__name__)
        return self.net(z)


class GLOGenerator(Generator):
    """A ``ConvGenerator`` trained on unit-norm codes (GLO, lecture 3), under the course's sampling contract.

    ``forward(z)`` puts each code on the unit sphere before the generator, so ``sample()`` feeds it directions
    drawn uniformly at random: GLO's "random codes". With ``noise_dim``, a mapper T (GLANN's map from noise to
    codes, learned by IMLE) goes first: ``forward(e) = generator(T(e) / |T(e)|)`` and ``sample()`` draws
    e ~ N(0, I) of ``noise_dim``. ``codes`` holds the learned codes of the first ``n_codes`` training images
    (for reconstructions and interpolations); a trainer fills it.
    """

    def __init__(self, code_dim: int = 64, width: int = 32, noise_dim: int | None = None, mapper_hidden: int = 256,
                 n_codes: int = 0):
        super().__init__()
        self.code_dim = code_dim
        self.z_dim = noise_dim or code_dim
        self.generator = ConvGenerator(code_dim, width)
        self.mapper = None if noise_dim is None else mlp([noise_dim, mapper_hidden, mapper_hidden, code_dim])
        self.register_buffer("codes", torch.zeros(n_codes, code_dim))

    def forward(self, z):
        _check_codes(z, self.z_dim, type(self).__name__)
        codes = z if self.mapper is None else self.mapper(z)
        return self.generator(codes / codes.norm(dim=1, keepdim=True).clamp_min(1e-12))


class ConvDiscriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N,): two stride-2 convolutions, LeakyReLU(0.2), a normalisation after the
    second, and a dense read-out (where DCGAN would use a 7x7 convolution). Weights start at N(0, 0.02).

    ``norm``: ``"batch"`` (BatchNorm, DCGAN's choice), ``"none"`` (a critic with a gradient penalty or clipped
    weights: BatchNorm makes each example's output depend on the others in its batch, so a per-example gradient
    norm means little), or ``"spectral"`` (no BatchNorm; every layer's weight divided by its largest singular
    value with ``torch.nn.utils.parametrizations.spectral_norm``, so each layer is 1-Lipschitz).
    """

    NORMS = ("batch", "none", "spectral")

    def __init__(self, width: int = 64, norm: str = "batch"):
        super().__init__()
        if norm not in self.NORMS:
            raise ValueError(f"ConvDiscriminator: norm must be one of {self.NORMS}, got {norm!r}")
        self.norm = norm
        batch = norm == "batch"
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=not batch),
            *([nn.BatchNorm2d(2 * width)] if batch else []), nn.LeakyReLU(0.2, True),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))
        self.apply(_normal_init)
        if norm == "spectral":
            for i, layer in enumerate(self.net):
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    self.net[i] = nn.utils.parametrizations.spectral_norm(layer)

    def forward(self, x):
        return self.net(as_images(x, type(self).__name__)).squeeze(1)


class MLPGenerator(Generator):
    """z (N, z_dim) -> points (N, out_dim): ``depth`` hidden ReLU layers of width ``hidden``, linear output.

    The toy-problem generator (1-D and 2-D targets); PyTorch's default initialisation.
    """

    def __init__(self, z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp([z_dim] + [hidden] * depth + [out_dim])

    def forward(self, z):
        _check_codes(z, self.z_dim, type(self).__name__)
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """points (N, in_dim) -> logits (N,): ``depth`` hidden LeakyReLU(0.2) layers of width ``hidden``."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.in_dim = in_dim
        self.net = mlp([in_dim] + [hidden] * depth + [1], activation=lambda: nn.LeakyReLU(0.2))

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"MLPDiscriminator expects points of shape (N, {self.in_dim}); got {tuple(x.shape)}")
        return self.net(x).squeeze(1)


# ---------------------------------------------------------------- many seeds at once

class BatchedLinear(nn.Module):
    """``members`` independent linear maps applied side by side: (members, N, in) -> (members, N, out).

    One batched matrix product (``torch.baddbmm``) instead of a Python loop over models. Each member starts
    like its own ``nn.Linear`` (weights and biases uniform in ±1/sqrt(in)), and gradients never mix.
    """

    def __init__(self, members: int, in_dim: int, out_dim: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x):
        return torch.baddbmm(self.bias, x, self.weight)


def _members_mlp(members: int, dims, activation) -> nn.Sequential:
    layers = []
    for a, b in zip(dims[:-2], dims[1:-1]):
        layers += [BatchedLinear(members, a, b), activation()]
    return nn.Sequential(*layers, BatchedLinear(members, dims[-2], dims[-1]))


def _split(x: torch.Tensor, members: int, width: int, who: str) -> torch.Tensor:
    """Flat rows (members * N, width) -> (members, N, width): member m gets rows m*N ... (m+1)*N - 1."""
    if x.dim() != 2 or x.shape[1] != width or x.shape[0] % members:
        raise ValueError(f"{who}: expected rows of shape (members * N, {width}) with members = {members}, "
                         f"got {tuple(x.shape)}")
    return x.reshape(members, -1, width)


class MLPGeneratorEnsemble(Generator):
    """``members`` independent :class:`MLPGenerator`-shaped generators trained side by side (one per seed).

    Takes and returns flat rows, so the course's loops use it unchanged: codes (members * N, z_dim) give
    samples (members * N, out_dim), member m owning rows m*N ... (m+1)*N - 1. A loss that averages over all
    rows is the average of the members' own losses; with Adam, whose steps do not depend on the loss's scale,
    training the ensemble is training each member on its own (``per_member`` undoes the flattening).
    """

    def __init__(self, members: int, z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.members, self.z_dim, self.out_dim = members, z_dim, out_dim
        self.net = _members_mlp(members, [z_dim] + [hidden] * depth + [out_dim], nn.ReLU)

    def forward(self, z):
        _check_codes(z, self.z_dim, type(self).__name__)
        return self.net(_split(z, self.members, self.z_dim, type(self).__name__)).reshape(-1, self.out_dim)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, batch_size: int | None = None) -> torch.Tensor:
        """n // members samples from each member, as flat rows (n, out_dim): member m's are rows m*n/members ...
        ``per_member`` gives (members, n // members, out_dim). Evaluated in one pass, so no chunk of rows is ever
        split across members in the wrong places (``batch_size`` is accepted and ignored)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n % self.members:
            raise ValueError(f"{type(self).__name__}.sample: expected a positive multiple of members = "
                             f"{self.members} samples, got {n!r}")
        return self(self.prior(n, generator).to(next(self.parameters()).device))

    def per_member(self, x: torch.Tensor) -> torch.Tensor:
        """Flat rows from this ensemble (members * N, d) -> (members, N, d)."""
        return _split(x, self.members, x.shape[-1], "per_member")


class MLPDiscriminatorEnsemble(nn.Module):
    """``members`` independent :class:`MLPDiscriminator`-shaped discriminators: points (members * N, in_dim)
    -> logits (members * N,), member m judging rows m*N ... (m+1)*N - 1 (the rows its generator made)."""

    def __init__(self, members: int, in_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.members, self.in_dim = members, in_dim
        self.net = _members_mlp(members, [in_dim] + [hidden] * depth + [1], lambda: nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.net(_split(x, self.members, self.in_dim, type(self).__name__)).reshape(-1)


class _MemberSpectralNorm(nn.Module):
    """A parametrization of a :class:`BatchedLinear` weight (members, in, out): each member's matrix divided by its
    largest singular value, estimated by one step of power iteration per forward pass in training mode (the
    vectors u, v persist between steps; the half-steps in the paper's order, v from u, then u)."""

    def __init__(self, weight: torch.Tensor, eps: float = 1e-12):
        super().__init__()
        members, rows, cols = weight.shape
        g = torch.Generator().manual_seed(0)
        self.eps = eps
        self.register_buffer("u", F.normalize(torch.randn(members, rows, generator=g), dim=1, eps=eps))
        self.register_buffer("v", F.normalize(torch.randn(members, cols, generator=g), dim=1, eps=eps))
        with torch.no_grad():
            for _ in range(15):   # start from converged vectors, as torch does
                self._power_step(weight)

    def _power_step(self, w):
        self.v.copy_(F.normalize(torch.bmm(w.transpose(1, 2), self.u.unsqueeze(2)).squeeze(2), dim=1, eps=self.eps))
        self.u.copy_(F.normalize(torch.bmm(w, self.v.unsqueeze(2)).squeeze(2), dim=1, eps=self.eps))

    def forward(self, w):
        if self.training:
            with torch.no_grad():
                self._power_step(w)
        # clones: the next forward pass updates u and v in place, and this pass's backward still needs them
        sigma = torch.einsum("mi,mij,mj->m", self.u.clone(), w, self.v.clone())
        return w / sigma.view(-1, 1, 1)


def spectral_norm_members(module: nn.Module) -> nn.Module:
    """Spectral normalisation for every :class:`BatchedLinear` in ``module`` (an ensemble), member by member:
    what ``torch.nn.utils.parametrizations.spectral_norm`` does to one ``nn.Linear``. Returns the module."""
    from torch.nn.utils import parametrize

    for layer in module.modules():
        if isinstance(layer, BatchedLinear):
            parametrize.register_parametrization(layer, "weight", _MemberSpectralNorm(layer.weight.detach()))
    return module


# ---------------------------------------------------------------- conditional GANs and image translation (lecture 7)

def _check_labels(labels, n: int, n_classes: int, who: str) -> torch.Tensor:
    if not torch.is_tensor(labels) or labels.dim() != 1 or len(labels) != n or labels.is_floating_point():
        raise ValueError(f"{who}: expected integer labels of shape ({n},), got "
                         f"{tuple(labels.shape) if torch.is_tensor(labels) else type(labels).__name__}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{who}: labels must lie in 0 ... {n_classes - 1}, got {labels.min().item()} ... "
                         f"{labels.max().item()}")
    return labels


class ConditionalGenerator(Generator):
    """(z, labels) -> images (N, 1, 28, 28) in [0, 1]: a :class:`ConvGenerator` fed z concatenated with a learned
    embedding of the label (Mirza & Osindero feed a one-hot vector; an embedding is the same thing followed by a
    linear map). ``sample(n, generator, labels=None)`` draws z ~ N(0, I); labels default to 0, 1, ..., 9, 0, 1, ...
    """

    def __init__(self, n_classes: int = 10, z_dim: int = 64, width: int = 32, embed_dim: int = 16):
        super().__init__()
        self.n_classes, self.z_dim = n_classes, z_dim
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.generator = ConvGenerator(z_dim + embed_dim, width)

    def forward(self, z, labels):
        _check_codes(z, self.z_dim, type(self).__name__)
        labels = _check_labels(labels, len(z), self.n_classes, type(self).__name__)
        return self.generator(torch.cat([z, self.embed(labels.to(z.device))], dim=1))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
               batch_size: int = 1000) -> torch.Tensor:
        """n samples G(z, y) with z ~ N(0, I) drawn on the CPU from ``generator``; ``labels`` (n,) or None."""
        z = self.prior(n, generator)
        labels = torch.arange(n) % self.n_classes if labels is None else labels
        _check_labels(labels, n, self.n_classes, f"{type(self).__name__}.sample")
        dev = next(self.parameters()).device
        return torch.cat([self(z[i:i + batch_size].to(dev), labels[i:i + batch_size].to(dev))
                          for i in range(0, n, batch_size)])


class ConditionalDiscriminator(nn.Module):
    """(images, labels) -> logits (N,): a projection discriminator (Miyato & Koyama, 2018). The convolutional body
    of :class:`ConvDiscriminator` maps x to features phi(x); the logit is w . phi(x) + embed(y) . phi(x), so the
    label asks "does x look like a real image *of this class*?" through an inner product, not an extra input."""

    def __init__(self, n_classes: int = 10, width: int = 32, norm: str = "batch"):
        super().__init__()
        self.n_classes = n_classes
        body = ConvDiscriminator(width, norm)
        self.features = body.net[:-1]                           # everything up to the dense read-out
        self.linear = body.net[-1]
        self.embed = nn.Embedding(n_classes, self.linear.in_features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x, labels):
        h = self.features(as_images(x, type(self).__name__))
        labels = _check_labels(labels, len(h), self.n_classes, type(self).__name__)
        return self.linear(h).squeeze(1) + (self.embed(labels.to(h.device)) * h).sum(1)


def _norm2d(kind: str, channels: int) -> nn.Module:
    table = {"batch": lambda: nn.BatchNorm2d(channels), "instance": lambda: nn.InstanceNorm2d(channels, affine=True),
             "none": nn.Identity}
    if kind not in table:
        raise ValueError(f"norm must be one of {tuple(table)}, got {kind!r}")
    return table[kind]()


class UNet(nn.Module):
    """images (N, in_channels, H, W) -> images (N, out_channels, H, W) in [0, 1]: pix2pix's generator, small.

    An encoder halves the resolution ``depth`` times (stride-2 4x4 convolutions, each doubling the channels); a
    decoder doubles it back (nearest-neighbour upsampling, then a 3x3 convolution) and, with ``skips=True``, each
    decoder stage also receives the encoder's features at its resolution, concatenated along the channels: the
    U-Net's skip connections, which carry the input's fine detail straight to the output. ``skips=False`` gives
    the same network without them (an encoder-decoder whose every detail must pass the bottleneck). H and W must
    be divisible by 2**depth.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 32, depth: int = 2,
                 skips: bool = True, norm: str = "batch"):
        super().__init__()
        self.depth, self.skips = depth, skips
        ch = [width * 2 ** i for i in range(depth + 1)]          # channels at each resolution, full size first
        self.stem = nn.Sequential(nn.Conv2d(in_channels, ch[0], 3, 1, 1), nn.LeakyReLU(0.2, True))
        self.down = nn.ModuleList(nn.Sequential(nn.Conv2d(ch[i], ch[i + 1], 4, 2, 1), _norm2d(norm, ch[i + 1]),
                                                nn.LeakyReLU(0.2, True)) for i in range(depth))
        self.bottom = nn.Sequential(nn.Conv2d(ch[-1], ch[-1], 3, 1, 1), _norm2d(norm, ch[-1]), nn.ReLU(True))
        extra = (lambda i: ch[i]) if skips else (lambda i: 0)
        # up[j] goes from resolution depth - j to depth - j - 1, then meets the encoder's features there
        self.up = nn.ModuleList(nn.Sequential(nn.Conv2d(ch[i + 1] + extra(i + 1) * (j > 0), ch[i], 3, 1, 1),
                                              _norm2d(norm, ch[i]), nn.ReLU(True))
                                for j, i in enumerate(reversed(range(depth))))
        self.head = nn.Conv2d(ch[0] + extra(0), out_channels, 3, 1, 1)
        self.apply(_normal_init)

    def forward(self, x):
        if x.dim() != 4 or x.shape[-1] % 2 ** self.depth or x.shape[-2] % 2 ** self.depth:
            raise ValueError(f"UNet(depth={self.depth}) expects images (N, C, H, W) with H, W divisible by "
                             f"{2 ** self.depth}; got {tuple(x.shape)}")
        h = self.stem(x)
        saved = [h]
        for down in self.down:
            h = down(h)
            saved.append(h)
        h = self.bottom(h)
        for j, up in enumerate(self.up):
            if j > 0 and self.skips:
                h = torch.cat([h, saved[self.depth - j]], dim=1)
            h = up(F.interpolate(h, scale_factor=2, mode="nearest"))
        if self.skips:
            h = torch.cat([h, saved[0]], dim=1)
        return torch.sigmoid(self.head(h))


class PatchDiscriminator(nn.Module):
    """images -> a map of logits (N, 1, h, w), one per overlapping patch: pix2pix's PatchGAN, small.

    ``n_layers`` stride-2 4x4 convolutions, then two stride-1 4x4 convolutions (the last gives one channel), as in
    the authors' ``NLayerDiscriminator``; ``layers`` lists every convolution's (kernel, stride, padding), from
    which the output size and each output's receptive field follow. Called with several image batches (a
    conditional discriminator, ``D(x, y)``), it concatenates them along the channels first; ``in_channels`` is
    then the total.
    """

    def __init__(self, in_channels: int = 2, width: int = 32, n_layers: int = 2, norm: str = "batch"):
        super().__init__()
        self.in_channels = in_channels
        ch = [in_channels] + [width * 2 ** min(i, 3) for i in range(n_layers + 1)]
        blocks = [nn.Conv2d(ch[0], ch[1], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for i in range(1, n_layers):
            blocks += [nn.Conv2d(ch[i], ch[i + 1], 4, 2, 1), _norm2d(norm, ch[i + 1]), nn.LeakyReLU(0.2, True)]
        blocks += [nn.Conv2d(ch[n_layers], ch[n_layers + 1], 4, 1, 1), _norm2d(norm, ch[n_layers + 1]),
                   nn.LeakyReLU(0.2, True), nn.Conv2d(ch[n_layers + 1], 1, 4, 1, 1)]
        self.net = nn.Sequential(*blocks)
        self.layers = [(m.kernel_size[0], m.stride[0], m.padding[0]) for m in self.net if isinstance(m, nn.Conv2d)]
        self.apply(_normal_init)

    def forward(self, *images):
        x = images[0] if len(images) == 1 else torch.cat(images, dim=1)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"PatchDiscriminator expects images with {self.in_channels} channels in all (after "
                             f"concatenating its inputs), got {tuple(x.shape)}")
        return self.net(x)


class _ResBlock(nn.Module):
    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm2d(norm, ch), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm2d(norm, ch))

    def forward(self, x):
        return x + self.body(x)


class ResnetTranslator(nn.Module):
    """images (N, in_channels, H, W) -> images (N, out_channels, H, W) in [0, 1]: CycleGAN's generator, small.

    A 7x7 convolution, two stride-2 convolutions down, ``n_blocks`` residual blocks, two stages up, a 7x7
    convolution and a sigmoid; instance normalisation inside, as in Zhu et al. (2017). ``up="resize"`` upsamples
    by nearest-neighbour resizing and then convolves; ``up="transpose"`` uses stride-2 transposed convolutions,
    whose uneven overlap tends to print checkerboard patterns (Odena et al., 2016). H and W divisible by 4.
    """

    UPS = ("resize", "transpose")

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 16, n_blocks: int = 2,
                 up: str = "resize", norm: str = "instance"):
        super().__init__()
        if up not in self.UPS:
            raise ValueError(f"ResnetTranslator: up must be one of {self.UPS}, got {up!r}")
        w = width
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, w, 7), _norm2d(norm, w), nn.ReLU(True)]
        for c in (w, 2 * w):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), _norm2d(norm, 2 * c), nn.ReLU(True)]
        layers += [_ResBlock(4 * w, norm) for _ in range(n_blocks)]
        for c in (4 * w, 2 * w):
            if up == "resize":
                layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c // 2, 3, 1, 1)]
            else:
                layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1)]
            layers += [_norm2d(norm, c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, out_channels, 7)]
        self.net = nn.Sequential(*layers)
        self.in_channels, self.up = in_channels, up
        self.apply(_normal_init)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"ResnetTranslator expects images (N, {self.in_channels}, H, W) with H, W divisible by "
                             f"4; got {tuple(x.shape)}")
        return torch.sigmoid(self.net(x))


# ---------------------------------------------------------------- LAPGAN (lecture 8)

class CoarseGenerator(Generator):
    """z (N, z_dim) -> small images (N, channels, size, size) in [0, 1]: an MLP with ``depth`` hidden ReLU layers,
    BatchNorm before each ReLU (without it this small GAN collapses onto a few images within a few hundred steps),
    and a sigmoid. The plain GAN at the top (coarsest level) of a Laplacian pyramid of GANs."""

    def __init__(self, size: int = 8, channels: int = 1, z_dim: int = 32, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.z_dim, self.shape = z_dim, (channels, size, size)
        layers, width = [], z_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, channels * size * size))

    def forward(self, z):
        _check_codes(z, self.z_dim, type(self).__name__)
        return torch.sigmoid(self.net(z)).reshape(-1, *self.shape)


class CoarseDiscriminator(nn.Module):
    """small images (N, channels, size, size) -> logits (N,): an MLP with ``depth`` hidden LeakyReLU(0.2) layers."""

    def __init__(self, size: int = 8, channels: int = 1, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.shape = (channels, size, size)
        self.net = mlp([channels * size * size] + [hidden] * depth + [1], activation=lambda: nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.net(as_images(x, type(self).__name__, self.shape).flatten(1)).squeeze(1)


class LevelGenerator(nn.Module):
    """One level of a LAPGAN: [l, z] (N, channels + 1, H, W) -> a high-pass image h (N, channels, H, W).

    ``l`` is the upsampled coarser image and ``z`` one plane of noise (Denton et al. feed it as an extra colour
    plane); ``depth`` 3x3 convolutions with ReLU between them and no activation at the end, since a residual
    is signed. The image at this level is then ``l + h``.
    """

    def __init__(self, channels: int = 1, width: int = 32, depth: int = 3):
        super().__init__()
        self.channels = channels
        dims = [channels + 1] + [width] * (depth - 1) + [channels]
        layers = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers += [nn.Conv2d(a, b, 3, 1, 1)] + ([nn.ReLU(True)] if i < depth - 1 else [])
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.channels + 1:
            raise ValueError(f"LevelGenerator(channels={self.channels}) expects [l, z] of shape (N, "
                             f"{self.channels + 1}, H, W): the upsampled coarse image and one noise plane; got "
                             f"{tuple(x.shape)}")
        return self.net(x)


class LevelDiscriminator(nn.Module):
    """One level of a LAPGAN: [l + h, l] (N, 2 * channels, size, size) -> logits (N,).

    It sees the image a residual makes (``l + h``) beside the coarse image it was conditioned on (``l``), so it
    judges whether the detail fits *this* coarse image. Two stride-2 4x4 convolutions with LeakyReLU(0.2), then
    a dense read-out; ``size`` divisible by 4.
    """

    def __init__(self, channels: int = 1, size: int = 16, width: int = 32):
        super().__init__()
        if size % 4:
            raise ValueError(f"LevelDiscriminator: size must be divisible by 4, got {size}")
        self.channels, self.size = channels, size
        self.net = nn.Sequential(
            nn.Conv2d(2 * channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, 1))

    def forward(self, x):
        want = (2 * self.channels, self.size, self.size)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"LevelDiscriminator expects [l + h, l] of shape (N, {want[0]}, {want[1]}, {want[2]}); "
                             f"got {tuple(x.shape)}")
        return self.net(x).squeeze(1)


class LAPGAN(Generator):
    """A Laplacian pyramid of GANs (Denton et al., 2015), under the course's sampling contract.

    ``coarse`` samples the smallest images (a :class:`CoarseGenerator`, or any model with ``sample(n, generator)``:
    a stand-in that returns real images shows what the finer levels do on their own); each of ``generators`` (coarse to fine) doubles the size: the image so
    far is upsampled (bilinear) to l, a noise plane z is drawn, and the level adds its residual G([l, z]).
    ``sample(n, generator)`` draws the coarse codes first, then each level's noise planes in order, all on the
    CPU from ``generator``; the final images are clamped to [0, 1] and, with ``crop``, cut to their central
    ``crop`` x ``crop`` (digits are padded to 32x32 for the pyramid and scored at 28x28). ``sample(...,
    levels=True)`` returns the images after every level, coarse to fine (unclamped and uncropped but the last).
    """

    def __init__(self, coarse: Generator | None = None, generators=None, channels: int = 1, size: int = 32,
                 levels: int = 3, width: int = 32, z_dim: int = 32, hidden: int = 256, crop: int | None = None):
        super().__init__()
        self.crop = crop
        small = size // 2 ** (levels - 1)
        self.coarse = coarse if coarse is not None else CoarseGenerator(small, channels, z_dim, hidden)
        self.generators = nn.ModuleList(generators if generators is not None else
                                        [LevelGenerator(channels, width) for _ in range(levels - 1)])
        self.z_dim = getattr(self.coarse, "z_dim", 0)

    def forward(self, z):
        raise TypeError("LAPGAN has no single code: sample with LAPGAN.sample(n, generator)")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, batch_size: int = 1000,
               levels: bool = False):
        images = [self.coarse.sample(n, generator)]             # any model under the sampling contract
        sizes = [images[0].shape[-1] * 2 ** (i + 1) for i in range(len(self.generators))]
        noise = [torch.randn(n, 1, s, s, generator=generator) for s in sizes]
        for G, e in zip(self.generators, noise):
            dev = next(G.parameters()).device
            low = F.interpolate(images[-1].to(dev), scale_factor=2, mode="bilinear", align_corners=False)
            h = torch.cat([G(torch.cat([low[i:i + batch_size], e[i:i + batch_size].to(dev)], dim=1))
                           for i in range(0, n, batch_size)])
            images.append(low + h)
        final = images[-1].clamp(0, 1)
        if self.crop is not None:
            top = (final.shape[-1] - self.crop) // 2
            final = final[..., top:top + self.crop, top:top + self.crop]
        images[-1] = final
        return images if levels else final
