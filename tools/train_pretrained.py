"""Train the generators that ship in course_lib/weights (``course_lib.pretrained``), and record how.

    python tools/train_pretrained.py [dcgan] [vaegan] [--steps-scale X] [--device cpu|cuda]

``dcgan``: lecture 4's DCGAN (ConvGenerator / ConvDiscriminator, width 32, z of 64, non-saturating loss, Adam
with beta1 = 0.5) for 6,000 steps of batch 128 at lr 5e-4. ``vaegan``: lecture 4's VAE + GAN (conv VAE, z of 16)
pre-trained as a VAE for 4,000 steps of batch 64, then 2,000 steps with the adversarial term (lambda = 10).
Both train on ``load_mnist()`` (full MNIST if present, else the 4,500 embedded digits); the DCGAN from seed 0,
the VAE + GAN from seed 1 (assignment 1 trains the same VAE from seed 0 and checks its result is not these weights).

Each writes ``<name>.pt`` (a float16 state dict) and ``<name>.json``: the recipe, data source, device, seconds,
torch version, the commit it was made at, and its FID on the lecture's protocol (500 samples against the 500
test digits, course FeatureNet), measured in both BatchNorm modes (eval mode is recorded as ``mode``, the one ``load_pretrained``
returns, unless train mode is clearly better); the VAE + GAN also records its test NELBO on lecture 2's binarised
test digits. A maintainer tool: it lives outside the course_lib package; run it from the repository root with
the course's Python (``.venv/bin/python``).

Later lectures' models (``glo``, ``glann``, ``wae``, ``vae``, the lecture 5 variants, ``cgan``, ``pix2pix``, ``l1``,
``cyclegan``, ``lapgan``) follow the recipes in ``RECIPES`` below; ``lapgan`` trains its three levels one after the
other (each on real low-pass images) and records the seconds and FID after each level.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's course_lib, wherever it runs from

from course_lib import batches, binarize, dynamic_binarize, evaluate_nelbo, load_mnist, rng  # noqa: E402
from course_lib import seed_everything, train_adversarial, train_gan  # noqa: E402
from course_lib import metrics as M  # noqa: E402
from course_lib.nets import ConvDiscriminator, Generator, MLPDiscriminator, MLPGenerator, count_parameters  # noqa: E402
from course_lib.pretrained import WEIGHTS_DIR, build  # noqa: E402

RECIPES = {
    "dcgan": {"steps": 6000, "batch_size": 128, "lr": 5e-4, "betas": [0.5, 0.999], "d_width": 32,
              "loss": "non-saturating BCE", "seed": 0},
    "vaegan": {"pre_steps": 4000, "ft_steps": 2000, "batch_size": 64, "vae_lr": 1e-3, "d_lr": 2e-4,
               "betas_d": [0.5, 0.999], "d_width": 32, "lambda": 10.0,
               "seed": 1},  # not seed 0: assignment 1 trains this architecture from seed 0 and compares
    # Lecture 5's losses on the same players, at the DCGAN's budget of 6,000 discriminator (critic) updates of
    # batch 128: with k = 5 critic steps per generator step, the WGANs get 1,200 generator steps.
    "lsgan": {"steps": 6000, "k": 1, "batch_size": 128, "optimizer": "adam", "lr": 5e-4, "betas": [0.5, 0.999],
              "d_width": 32, "d_norm": "batch", "loss": "least squares, a = 0, b = c = 1", "seed": 0},
    "sngan": {"steps": 6000, "k": 1, "batch_size": 128, "optimizer": "adam", "lr": 5e-4, "betas": [0.5, 0.999],
              "d_width": 32, "d_norm": "spectral", "loss": "non-saturating BCE", "seed": 0},
    "wgan": {"steps": 1200, "k": 5, "batch_size": 128, "optimizer": "rmsprop", "lr": 5e-5, "clip": 0.01,
             "d_width": 32, "d_norm": "none", "loss": "Wasserstein, weights clipped to [-c, c]", "seed": 0},
    "wgangp": {"steps": 1200, "k": 5, "batch_size": 128, "optimizer": "adam", "lr": 2e-4, "betas": [0.5, 0.9],
               "d_width": 32, "d_norm": "none", "lambda": 10.0, "loss": "Wasserstein + gradient penalty", "seed": 0},
    # Lecture 3's models, at the same budget of 6,000 updates of batch 128. GLO: one free code per training image
    # on the unit sphere, learned with the generator (one Adam over both, the codes at a larger learning rate),
    # loss the Laplacian-pyramid L1; the codes of the first n_codes training images ship with it. GLANN: that GLO,
    # then a mapper from noise to its codes trained by IMLE (re-matched every round). WAE and VAE: the same
    # conv autoencoder (z of 8, as in the WAE paper's MNIST), WAE with a squared-error cost and lambda * MMD^2
    # (inverse multiquadric kernel over the paper's scales), VAE with lecture 2's Bernoulli NELBO.
    "glo": {"steps": 6000, "batch_size": 128, "code_dim": 64, "width": 32, "lr": 1e-3, "code_lr": 1e-2,
            "betas": [0.5, 0.999], "loss": "Laplacian-pyramid L1 (3 bands + low-pass, each band's mean)",
            "n_codes": 500, "seed": 0},
    "glann": {"glo": "the 'glo' recipe", "noise_dim": 32, "mapper_hidden": 256, "rounds": 60,
              "samples_per_round": 9000, "steps_per_round": 50, "batch_size": 128, "lr": 1e-3, "seed": 0},
    "wae": {"steps": 6000, "batch_size": 128, "z_dim": 8, "hidden": 128, "lr": 1e-3, "betas": [0.5, 0.999],
            "lambda": 10.0, "scales": [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0],
            "cost": "squared error summed over pixels", "seed": 0},
    "vae": {"steps": 6000, "batch_size": 128, "z_dim": 8, "hidden": 128, "lr": 1e-3,
            "loss": "NELBO, Bernoulli decoder, dynamically binarised digits", "seed": 0},
}


# lecture 7: a conditional GAN on the digits, pix2pix (and its L1-only twin) on plain -> coloured digits with
# pairs, CycleGAN on plain <-> coloured digits without (course_lib.domains)
RECIPES.update({
    "cgan": {"steps": 6000, "batch_size": 128, "lr": 5e-4, "betas": [0.5, 0.999], "width": 32, "seed": 0,
             "loss": "non-saturating, labels into G by embedding, into D by projection"},
    "pix2pix": {"steps": 2000, "batch_size": 32, "lr": 2e-4, "betas": [0.5, 0.999], "width": 16, "d_width": 16,
                "d_layers": 1, "lambda_l1": 100.0, "seed": 0, "task": "plain -> coloured (paired)"},
    "l1": {"steps": 2000, "batch_size": 32, "lr": 2e-4, "betas": [0.5, 0.999], "width": 16, "seed": 0,
           "task": "plain -> coloured (paired)", "loss": "L1 only (pix2pix's generator without its discriminator)"},
    "cyclegan": {"steps": 2500, "batch_size": 16, "lr": 2e-4, "betas": [0.5, 0.999], "width": 8, "n_blocks": 2,
                 "d_width": 16, "d_layers": 1, "lambda_cycle": 10.0, "lambda_identity": 0.5, "pool": 50, "seed": 0,
                 "task": "plain <-> coloured digits (unpaired halves of the training digits)"},
    # Lecture 8: a LAPGAN on the digits padded to 32x32 (pyramid 32 -> 16 -> 8). The 8x8 GAN and the two
    # conditional levels train independently (each on real low-pass images), each with its own step count.
    "lapgan": {"steps": {"8x8": 6000, "16x16": 6000, "32x32": 3000}, "batch_size": 64, "lr": 5e-4,
               "betas": [0.5, 0.999], "width": 32, "z_dim": 32, "hidden": 256, "seed": 0,
               "pyramid": "5x5 binomial blur (reflect) + every other pixel; bilinear upsampling",
               "loss": "non-saturating BCE; D_k sees [l + h, l]"},
})


# A self-conditioned GAN (not shipped; a row of the results table): lecture 7's cGAN players fed the training
# digits' k-means cluster (on pixels) in place of their label, so no human label is used; samples draw a cluster
# in proportion to its size. Liu et al. (2020) cluster the discriminator's features and re-cluster as it learns;
# pixels, clustered once, are the cheap version. The generator sampled is an exponential moving average of the
# trained one's weights.
RECIPES["selfcond"] = {**RECIPES["cgan"], "clusters": 20, "ema_decay": 0.999,
                       "loss": "non-saturating; k-means cluster ids into G by embedding, into D by projection"}

# Goodfellow et al.'s GAN on the digits: MLPs, non-saturating loss (not shipped; the results table's baseline).
RECIPES["gan"] = {"steps": 6000, "batch_size": 128, "lr": 2e-4, "betas": [0.5, 0.999], "z_dim": 64, "hidden": 512,
                  "depth": 2, "loss": "non-saturating BCE", "seed": 0}

# The fast budget (tools/results.py --budget fast): schedules a laptop's 2 CPU cores train in about half a minute
# each (results/fast.json records the seconds; this machine's speed varies, so steps, not seconds, are the recipe).
# Only the schedule changes (steps, batch size, learning rate, a weight average's decay); every architecture is
# the full budget's.
FAST = {
    "gan": {"steps": 3000, "batch_size": 32, "lr": 1e-3},
    "dcgan": {"steps": 1300, "batch_size": 32, "lr": 1e-3},
    "lsgan": {"steps": 1300, "batch_size": 32, "lr": 1e-3},
    "sngan": {"steps": 1300, "batch_size": 32, "lr": 1e-3},
    "wgan": {"steps": 300, "batch_size": 32, "lr": 2e-4},
    "wgangp": {"steps": 240, "batch_size": 32, "lr": 1e-3},
    "vaegan": {"pre_steps": 1200, "ft_steps": 400, "batch_size": 32},
    "glo": {"steps": 1500, "batch_size": 64},
    "glann": {"rounds": 30, "samples_per_round": 4500},
    "wae": {"steps": 2000, "batch_size": 64},
    "vae": {"steps": 2000, "batch_size": 64},
    "cgan": {"steps": 1300, "batch_size": 32, "lr": 1e-3},
    "selfcond": {"steps": 1300, "batch_size": 32, "lr": 1e-3, "ema_decay": 0.99},
    "pix2pix": {"steps": 700, "batch_size": 16, "lr": 1e-3},
    "l1": {"steps": 700, "batch_size": 16, "lr": 1e-3},
    "cyclegan": {"steps": 300, "batch_size": 8, "lr": 1e-3},
    "lapgan": {"steps": {"8x8": 800, "16x16": 500, "32x32": 250}, "lr": 2e-3},
}


# The fast schedules of the GAN rows played by self-conditioned players (tools/probe_prior.py --clusters K --schedule
# self-conditioned; not rows of the table): FAST's, but for the changes below, tuned toward FID 60 in about 25-30 s on
# 2 CPU cores (the README's results give what each reaches over six seeds). Least squares collapsed to one digit at lr
# 1e-3 (one seed of six); at 5e-4 it reaches 60 at five seeds of six with 20 clusters, at every seed with 50. The
# WGANs' 240-300 generator steps are too few (the table's WGAN-GP: FID 313; its clipped WGAN draws no digits), so they
# take fewer critic steps per generator step and more generator steps, at a higher learning rate; the clipped WGAN,
# whose critic learns slowly, reached 60 at one seed of six and four on 850 steps of 64 (20 and 50 clusters); with 50
# clusters and --ema 0.995, at every seed on 1,200 of 64 (28-49, but in 40 s) and on 1,350 of 32 (37-57, in 25-28 s;
# 1,500 of 32 at five of six). LAPGAN (whose 8x8 level --clusters self-conditions; see train_lapgan) trains its cheap
# 8x8 level, whose steps cost little more at batch 128 than at 64, on 1,200 steps of 128 at Adam 2e-3 (the table's: 800
# of 64), more steps on the 16x16 level (1,000), whose errors the 32x32 level inherits, and fewer on the 32x32 level
# (100), these two in batches of 32 with five convolutions (three in the table's), pix2pix's L1 term (lambda 100), a
# moving average of their weights (decay 0.99 after a warm-up) and their weights and activations in channels-last
# layout (the same arithmetic, which oneDNN's CPU convolutions run 10-25 % faster). With 200 clusters of its 8x8 images
# and --ema 0.995 it reaches FID 38-56 over six seeds; the README gives the seconds (2,000 steps of 64 at 1e-3 at 8x8,
# 1,100 at 16x16, no channels-last: 45-59 in 36-43 s; with 50 clusters of the digits' pixels, 700 steps at 16x16 and
# no level average: 54-138; a level discriminator trained on the generator's fakes of the step before, saving a
# generator pass: worse, 50-72). SN-GAN's power iterations make its steps the dearest of the DCGAN-sized players':
# 1,150 of them (the table's 1,300 took up to 32 s) reach FID 38-50 over six seeds.
# The rows whose players learn with Adam take its fused CPU kernel (``fused_adam``: one pass over each player's
# parameters instead of a dozen small operations per tensor, the default on a CPU): the same update up to rounding,
# 3-16 % of the training time in same-minute runs (the VAE + GAN the most). All but the MLP GAN's: with the fused
# kernel it collapsed to two digits at seed 3 (FID 753) and nearly at seed 1 (recall 0.05), a change of rounding
# that sent its trajectories elsewhere; on the default Adam it keeps 24-45 over six seeds. The clipped WGAN keeps
# RMSprop, which has no fused kernel in torch 2.14.
FUSED = {"fused_adam": True}
FAST_SELF_CONDITIONED = {"dcgan": {**FUSED}, "sngan": {"steps": 1150, **FUSED},
                         "lsgan": {"lr": 5e-4, **FUSED}, "wgangp": {"k": 2, "steps": 600, "lr": 2e-3, **FUSED},
                         "wgan": {"k": 1, "steps": 1350, "batch_size": 32, "lr": 2e-3},
                         "lapgan": {"steps": {"8x8": 1200, "16x16": 1000, "32x32": 100}, "batch_size": 128,
                                    "coarse_lr": 2e-3, "level_batch_size": 32, "level_depth": 5, "lambda_l1": 100.0,
                                    "level_ema": 0.99, "channels_last": True, **FUSED},
                         "vaegan": {**FUSED}}

# The CPU goal, every noise-to-image GAN of the course at FID <= 60 within 30 s on 2 CPU cores, seed after
# seed (16-22 s at seed 0 in one process, at about the speed the baseline was timed at; LAPGAN about 1.15
# times the DCGAN's time; up to 1.5 times longer at the machine's slow hours): the prior change and weight average
# each row takes (tools/probe_prior.py --cpu-goal runs them all, on the schedules of FAST_SELF_CONDITIONED; the VAE +
# GAN's is the table's with fused Adam). Clusters are told both players (LAPGAN: its 8x8 level's); the VAE + GAN
# instead draws from a Gaussian mixture fitted to its encoder's codes. The games whose critic learns slowly or whose
# samples collapse took more clusters (LSGAN, the clipped WGAN), and so did the MLP GAN, whose 20 clusters left it at
# 36-58 over six seeds (50: 24-45, for half a second more of clustering); LAPGAN, whose levels compound the 8x8
# level's errors, took the most.
CPU_GOAL = {"gan": {"clusters": 50, "ema": 0.99}, "dcgan": {"clusters": 20, "ema": 0.99},
            "sngan": {"clusters": 20, "ema": 0.99}, "wgangp": {"clusters": 20, "ema": 0.99},
            "lsgan": {"clusters": 50, "ema": 0.99}, "wgan": {"clusters": 50, "ema": 0.995},
            "lapgan": {"clusters": 200, "ema": 0.995}, "vaegan": {"mixture": 50}}


def recipe(name: str, budget: str = "full") -> dict:
    """The recipe of ``name`` in a budget: RECIPES (the shipped weights') or, for "fast", with FAST's changes."""
    if budget not in ("fast", "full"):
        raise ValueError(f"budget must be 'fast' or 'full'; got {budget!r}")
    return {**RECIPES[name], **(FAST.get(name, {}) if budget == "fast" else {}), "budget": budget}


def laplacian_l1(x, y, bands: int = 3):
    """GLO's reconstruction loss: the L1 distance between the Laplacian pyramids of x and y, each band's mean
    absolute difference summed over the bands and the low-pass residual (so a coarse band, with a quarter of the
    pixels of the one above, counts as much as a fine one). Lecture 3 writes the same function out."""
    total = x.new_zeros(())
    for _ in range(bands):
        x_low, y_low = F.avg_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(y, 2, ceil_mode=True)
        up = lambda t, like: F.interpolate(t, size=like.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
        total = total + ((x - up(x_low, x)) - (y - up(y_low, y))).abs().mean()
        x, y = x_low, y_low
    return total + (x - y).abs().mean()


def bce(logits, target: float):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def adam(module, lr, betas=(0.5, 0.999), fused: bool = False):
    """Adam over a module's parameters; ``fused``: torch's fused kernel (a recipe's ``fused_adam``), else the
    default implementation, as the shipped weights were trained."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=tuple(betas), **({"fused": True} if fused else {}))


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fid_both_modes(model, reference) -> dict:
    """FID (n = 500 vs the 500 test digits) of samples drawn in eval and in train mode (BatchNorm statistics)."""
    out = {}
    for mode in ("eval", "train"):
        model.train(mode == "train")
        with torch.no_grad():
            samples = model.sample(500, rng(1)).cpu()
        out[mode] = round(M.fid(samples, reference, verbose=False).value, 2)
    return out


def train_dcgan(digits, dev, scale: float, budget: str = "full"):
    r = recipe("dcgan", budget)
    steps = max(1, int(r["steps"] * scale))
    seed_everything(r["seed"])
    G, D = build("dcgan").to(dev), ConvDiscriminator(width=r["d_width"]).to(dev)
    d_loss, g_loss = gan_losses("dcgan", r)
    opt_g, opt_d = (adam(m, r["lr"], r["betas"], r.get("fused_adam", False)) for m in (G, D))
    train_gan(G, D, digits.train_x, steps, opt_g, opt_d, d_loss=d_loss, g_loss=g_loss, k=r.get("k", 1),
              batch_size=r["batch_size"], seed=r["seed"], desc="DCGAN (shipped)")
    return G, {**r, "steps": steps}, {}


class ImageMLPGenerator(Generator):
    """z -> 28x28 image through an MLP (course_lib.nets.MLPGenerator) and a sigmoid, under the sampling contract."""

    def __init__(self, z_dim, hidden, depth):
        super().__init__()
        self.z_dim, self.mlp = z_dim, MLPGenerator(z_dim, 28 * 28, hidden, depth)

    def forward(self, z):
        return torch.sigmoid(self.mlp(z)).view(-1, 1, 28, 28)


class ConditionalImageMLPGenerator(Generator):
    """(z, labels) -> 28x28 images: the MLP GAN's generator fed z concatenated with a learned embedding of the
    label, as lecture 7's ConditionalGenerator feeds its convolutional one (the self-conditioned MLP GAN's)."""

    def __init__(self, n_classes, z_dim, hidden, depth, embed_dim: int = 16):
        super().__init__()
        self.n_classes, self.z_dim = n_classes, z_dim
        self.embed = torch.nn.Embedding(n_classes, embed_dim)
        self.mlp = MLPGenerator(z_dim + embed_dim, 28 * 28, hidden, depth)

    def forward(self, z, labels):
        return torch.sigmoid(self.mlp(torch.cat([z, self.embed(labels.to(z.device))], 1))).view(-1, 1, 28, 28)


class ConditionalMLPDiscriminator(torch.nn.Module):
    """(images, labels) -> logits: the MLP GAN's discriminator (or, with in_dim = 64, LAPGAN's 8x8
    CoarseDiscriminator, the same MLP) read out by projection, as lecture 7's ConditionalDiscriminator is:
    w . phi(x) + embed(y) . phi(x), phi(x) its last hidden layer."""

    def __init__(self, n_classes, hidden, depth, in_dim: int = 28 * 28):
        super().__init__()
        body = MLPDiscriminator(in_dim, hidden, depth)
        self.n_classes, self.features, self.linear = n_classes, body.net[:-1], body.net[-1]
        self.embed = torch.nn.Embedding(n_classes, hidden)
        torch.nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x, labels):
        h = self.features(x.flatten(1))
        return self.linear(h).squeeze(1) + (self.embed(labels.to(h.device)) * h).sum(1)


class ConditionalCoarseGenerator(Generator):
    """(z, labels) -> 8x8 images: LAPGAN's CoarseGenerator (lecture 8) fed z concatenated with a learned embedding
    of the label, as lecture 7's ConditionalGenerator is (the self-conditioned LAPGAN's coarse level)."""

    def __init__(self, n_classes, z_dim, hidden, size: int = 8, embed_dim: int = 16):
        from course_lib.nets import CoarseGenerator

        super().__init__()
        self.n_classes, self.z_dim = n_classes, z_dim
        self.embed = torch.nn.Embedding(n_classes, embed_dim)
        self.body = CoarseGenerator(size, 1, z_dim + embed_dim, hidden)

    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels.to(z.device))], 1))


def train_mlp_gan(digits, dev, scale: float, budget: str = "full"):
    r = recipe("gan", budget)
    steps = max(1, int(r["steps"] * scale))
    seed_everything(r["seed"])
    G = ImageMLPGenerator(r["z_dim"], r["hidden"], r["depth"]).to(dev)
    D = torch.nn.Sequential(torch.nn.Flatten(), MLPDiscriminator(28 * 28, r["hidden"], r["depth"])).to(dev)
    d_loss, g_loss = gan_losses("gan", r)
    opt_g, opt_d = (adam(m, r["lr"], r["betas"], r.get("fused_adam", False)) for m in (G, D))
    train_gan(G, D, digits.train_x, steps, opt_g, opt_d, d_loss=d_loss, g_loss=g_loss, k=r.get("k", 1),
              batch_size=r["batch_size"], seed=r["seed"], desc="GAN (MLP)")
    return G, {**r, "steps": steps}, {}


class MixturePriorGenerator(Generator):
    """A VAE's decoder sampled from a Gaussian mixture fitted to its encoder's means on the training digits instead
    of from N(0, I) (ex-post density estimation, Ghosh et al., 2020): a prior whose mass sits where codes of real
    digits do, learned without labels. ``prior(n, generator)`` draws a component by its weight, then z, on the CPU;
    ``forward(z)`` gives the decoder's pixel means. Under the sampling contract."""

    def __init__(self, vae, means, covariances, weights):
        super().__init__()
        self.vae, self.z_dim = vae, vae.z_dim
        self.register_buffer("means", torch.as_tensor(means, dtype=torch.float32))
        cholesky = torch.linalg.cholesky(torch.as_tensor(covariances, dtype=torch.float64))   # in float64, then stored
        self.register_buffer("scale_tril", cholesky.float())
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))   # float32: MPS has no float64

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from the mixture, drawn on the CPU from ``generator``: each a component by its weight, then
        z = mean + L eps with L the component's Cholesky factor and eps ~ N(0, I)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{type(self).__name__}.sample: expected a positive number of samples n, got {n!r}")
        component = torch.multinomial(self.weights.cpu().double(), n, replacement=True, generator=generator)
        eps = torch.randn(n, self.z_dim, 1, generator=generator)
        return self.means.cpu()[component] + (self.scale_tril.cpu()[component] @ eps).squeeze(-1)

    def forward(self, z):
        return torch.sigmoid(self.vae.decoder(z))


@torch.no_grad()
def mixture_prior(vae, x, components: int, seed: int) -> MixturePriorGenerator:
    """``vae``'s decoder behind a Gaussian mixture (full covariances; scikit-learn's defaults: one k-means start)
    with ``components`` components fitted to its encoder's means of the images ``x`` (the grey-level training
    digits; the VAE trained on their dynamic binarisations)."""
    from sklearn.mixture import GaussianMixture

    dev = next(vae.parameters()).device
    means = torch.cat([vae.encoder(x[i:i + 500].to(dev))[0] for i in range(0, len(x), 500)]).cpu().double().numpy()
    gm = GaussianMixture(components, covariance_type="full", random_state=seed).fit(means)
    return MixturePriorGenerator(vae, gm.means_, gm.covariances_, gm.weights_).to(dev)


def train_vaegan(digits, dev, scale: float, budget: str = "full"):
    """Lecture 4's VAE + GAN. With the recipe's optional ``prior_components`` K (a probe's change,
    tools/probe_prior.py vaegan --mixture K; the table's row and the shipped weights have none), the adversarial
    phase and the samples draw z from a K-component Gaussian mixture fitted to the encoder's means after the VAE
    phase (mixture_prior) instead of N(0, I), and the trainer returns that MixturePriorGenerator."""
    r = recipe("vaegan", budget)
    pre, ft = max(1, int(r["pre_steps"] * scale)), max(1, int(r["ft_steps"] * scale))
    seed_everything(r["seed"])
    stream = batches(digits.train_x, r["batch_size"], rng(r["seed"]), dev)
    vae = build("vaegan").to(dev)
    z_dim = vae.z_dim

    def nelbo(x):
        x = dynamic_binarize(x)
        mu, logvar = vae.encoder(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(vae.decoder(z), x, reduction="none").flatten(1).sum(1)
        return (rec + 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(1)).mean()

    opt = adam(vae, r["vae_lr"], (0.9, 0.999), r.get("fused_adam", False))     # torch's default betas
    for _ in range(pre):
        loss = nelbo(next(stream))
        opt.zero_grad()
        loss.backward()
        opt.step()
    prior = mixture_prior(vae, digits.train_x, r["prior_components"], r["seed"]) if r.get("prior_components") else None
    D = ConvDiscriminator(width=r["d_width"]).to(dev)

    def fakes(n=r["batch_size"]):
        z = prior.prior(n).to(dev) if prior is not None else torch.randn(n, z_dim, device=dev)
        return torch.sigmoid(vae.decoder(z))

    def d_loss(x):
        return bce(D(x), 1.0) + bce(D(fakes()), 0.0)

    def g_loss(x):
        adv, rec = bce(D(fakes()), 1.0), nelbo(x)
        return rec + r["lambda"] * adv, {"nelbo": rec, "adv": adv}

    train_adversarial(stream, d_loss, g_loss, adam(D, r["d_lr"], r["betas_d"], r.get("fused_adam", False)),
                      adam(vae, r["vae_lr"], (0.9, 0.999), r.get("fused_adam", False)), D, vae, ft,
                      desc="VAE + GAN (shipped)")
    extra = {"test_nelbo": round(evaluate_nelbo(vae.eval(), binarize(digits.test_x, seed=0).to(dev)), 2),
             "test_nelbo_on": "lecture 2's 500 test digits, binarised once with seed 0" +
                              (" (the VAE's, under N(0, I), not the mixture prior's)" if prior is not None else "")}
    return (vae if prior is None else prior.eval()), {**r, "pre_steps": pre, "ft_steps": ft}, extra


def gan_losses(game: str, r: dict):
    """``d_loss(D, G, x, z)`` and ``g_loss(D, G, z)`` (train_gan's form) of a results row's game: "gan", "dcgan"
    and "sngan" the non-saturating loss, "lsgan" least squares, "wgan" and "wgangp" the critic's loss (plus r["lambda"]
    times the gradient penalty, if set), which logs its estimate of W1 (the loss without the penalty, negated)."""
    from course_lib import gan, wasserstein as W

    lam = r.get("lambda", 0.0)

    def wgan_critic(D, G, x, z):
        fake = G(z).detach()
        estimate = D(x).mean() - D(fake).mean()
        if not lam:
            return -estimate, {"w_estimate": estimate}
        penalty = W.gradient_penalty(D, x, fake, torch.rand(len(x), device=x.device))
        return -estimate + lam * penalty, {"w_estimate": estimate, "penalty": penalty}

    games = {"gan": (gan.discriminator_loss, gan.generator_loss_nonsaturating),
             "dcgan": (gan.discriminator_loss, gan.generator_loss_nonsaturating),
             "lsgan": (W.discriminator_loss_lsgan, W.generator_loss_lsgan),
             "sngan": (gan.discriminator_loss, gan.generator_loss_nonsaturating),
             "wgan": (wgan_critic, W.generator_loss), "wgangp": (wgan_critic, W.generator_loss)}
    if game not in games:
        raise ValueError(f"gan_losses: no game {game!r}; one of {sorted(games)}")
    return games[game]


def optimizers(r: dict, G, D):
    """(opt_g, opt_d) of a recipe: RMSprop at r["lr"] if r["optimizer"] says so (the clipped WGAN), else Adam with
    r["betas"]; and the critic's weight clipping to run after each of its steps (None without r["clip"])."""
    from course_lib import wasserstein as W

    if r.get("optimizer") == "rmsprop":
        opts = tuple(torch.optim.RMSprop(m.parameters(), lr=r["lr"]) for m in (G, D))
    else:
        opts = tuple(adam(m, r["lr"], r["betas"], r.get("fused_adam", False)) for m in (G, D))
    clip = (lambda: W.clip_weights_(D, r["clip"])) if "clip" in r else None
    return opts, clip


def train_variant(name):
    """A trainer for one of lecture 5's GANs: ConvGenerator as the DCGAN's, a discriminator (critic) with the
    recipe's normalisation, and the recipe's losses from course_lib.gan / course_lib.wasserstein."""

    def trainer(digits, dev, scale: float, budget: str = "full"):
        r = recipe(name, budget)
        steps = max(1, int(r["steps"] * scale))
        seed_everything(r["seed"])
        G, D = build(name).to(dev), ConvDiscriminator(width=r["d_width"], norm=r["d_norm"]).to(dev)
        d_loss, g_loss = gan_losses(name, r)
        (opt_g, opt_d), clip = optimizers(r, G, D)
        if clip:
            clip()
        # A trace for lecture 5: FID (n = 500, eval mode) at 20 checkpoints; the losses are averaged between them.
        every, fids = max(1, steps // 20), {}
        reference = digits.test_x[:500]

        def checkpoint(step, G, D):
            if step % every == 0 or step == steps:
                G.eval()
                fids[step] = round(M.fid(G.sample(500, rng(1)).cpu(), reference, verbose=False).value, 2)
                G.train()

        h = train_gan(G, D, digits.train_x, steps, opt_g, opt_d, d_loss=d_loss, g_loss=g_loss, k=r["k"],
                      batch_size=r["batch_size"], seed=r["seed"], after_d_step=clip, callback=checkpoint,
                      desc=f"{name} (shipped)")
        trace = {"step": list(fids), "fid": list(fids.values())}
        for key in ("d_loss", "g_loss", "w_estimate"):
            if key in h:
                vals, at = h[key], h.steps(key)
                trace[key] = [round(sum(v for v, t in zip(vals, at) if s - every < t <= s) /
                                    max(1, sum(1 for t in at if s - every < t <= s)), 5) for s in fids]
        return G, {**r, "steps": steps}, {"trace": trace, "trace_note": "FID every steps/20 generator steps "
                                          "(eval mode, n = 500 vs the 500 test digits); losses are means over the "
                                          "steps since the previous checkpoint (d_loss: the last critic step of "
                                          "each round)"}

    return trainer


_GLO_CACHE = {}   # the GLO run and all its codes, for GLANN when both are trained in one process


def _train_glo_with_codes(digits, dev, scale: float, budget: str = "full"):
    from course_lib import non_adversarial as NA

    key = (id(digits), str(dev), scale, budget)
    if key in _GLO_CACHE:
        return _GLO_CACHE[key]
    r = recipe("glo", budget)
    steps = max(1, int(r["steps"] * scale))
    seed_everything(r["seed"])
    model = build("glo").to(dev)
    x_all = digits.train_x.to(dev)
    codes = torch.nn.Parameter(NA.project_to_sphere(torch.randn(len(x_all), r["code_dim"], generator=rng(r["seed"]))
                                                    ).to(dev))
    opt = torch.optim.Adam([{"params": model.generator.parameters(), "lr": r["lr"]},
                            {"params": [codes], "lr": r["code_lr"]}], betas=tuple(r["betas"]))
    g = rng(r["seed"] + 1)
    for step in range(1, steps + 1):
        idx = torch.randint(len(x_all), (r["batch_size"],), generator=g).to(dev)
        loss = NA.glo_step(model.generator, codes, x_all[idx], idx, opt, loss_fn=laplacian_l1)
        if step % 500 == 0:
            print(f"GLO step {step}: loss {loss.item():.4f}", flush=True)
    with torch.no_grad():
        codes.copy_(NA.project_to_sphere(codes))   # Adam's momentum may move codes outside the batch: all back
        model.codes.copy_(codes[:r["n_codes"]])
        rec = model.generator.eval()(codes[:500])
        extra = {"train_l1_first_500": round(float((rec - x_all[:500]).abs().mean()), 5)}
    model.generator.train()
    _GLO_CACHE[key] = (model, codes.detach(), {**r, "steps": steps}, extra)
    return _GLO_CACHE[key]


def train_glo(digits, dev, scale: float, budget: str = "full"):
    model, _, glo_recipe, extra = _train_glo_with_codes(digits, dev, scale, budget)
    return model, glo_recipe, {**extra, "sampling": "codes uniform on the unit sphere (GLO's 'random codes')"}


def train_glann(digits, dev, scale: float, budget: str = "full"):
    from course_lib import non_adversarial as NA

    glo, codes, glo_recipe, _ = _train_glo_with_codes(digits, dev, scale, budget)
    r = recipe("glann", budget)
    rounds = max(1, int(r["rounds"] * scale))
    torch.manual_seed(r["seed"])
    model = build("glann").to(dev)
    model.generator.load_state_dict(glo.generator.state_dict())
    model.codes.copy_(glo.codes)
    opt = torch.optim.Adam(model.mapper.parameters(), lr=r["lr"])
    g = rng(r["seed"] + 2)
    for rnd in range(rounds):
        # IMLE: every GLO code claims its nearest mapped noise sample; then pull the pairs together
        e = torch.randn(r["samples_per_round"], r["noise_dim"], generator=g).to(dev)
        with torch.no_grad():
            match = torch.cdist(codes, NA.project_to_sphere(model.mapper(e))).argmin(1)
        for _ in range(r["steps_per_round"]):
            i = torch.randint(len(codes), (r["batch_size"],), generator=g).to(dev)
            loss = (NA.project_to_sphere(model.mapper(e[match[i]])) - codes[i]).pow(2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if (rnd + 1) % 10 == 0:
            print(f"GLANN round {rnd + 1}: matched distance^2 {loss.item():.4f}", flush=True)
    return model, {**r, "rounds": rounds, "glo": glo_recipe}, {}


def _autoencoder_trainer(name):
    def trainer(digits, dev, scale: float, budget: str = "full"):
        from course_lib import non_adversarial as NA

        r = recipe(name, budget)
        steps = max(1, int(r["steps"] * scale))
        seed_everything(r["seed"])
        model = build(name).to(dev)
        stream = batches(digits.train_x, r["batch_size"], rng(r["seed"]), dev)
        opt = torch.optim.Adam(model.parameters(), lr=r["lr"], betas=tuple(r.get("betas", (0.9, 0.999))))
        g = rng(r["seed"] + 1)
        for step in range(1, steps + 1):
            x = next(stream)
            if name == "wae":
                z = model.encoder(x)[0]          # a deterministic encoder: the mean head only
                rec = (torch.sigmoid(model.decoder(z)) - x).pow(2).flatten(1).sum(1).mean()
                prior = torch.randn(len(x), r["z_dim"], generator=g).to(dev)
                mmd = NA.mmd2_imq(z, prior, scales=r["scales"])
                loss = rec + r["lambda"] * mmd
            else:
                xb = dynamic_binarize(x)
                mu, logvar = model.encoder(xb)
                zz = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
                rec = F.binary_cross_entropy_with_logits(model.decoder(zz), xb, reduction="none").flatten(1).sum(1)
                loss = (rec + 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 500 == 0:
                print(f"{name} step {step}: loss {loss.item():.3f}", flush=True)
        model.eval()
        with torch.no_grad():
            x = digits.test_x[:500].to(dev)
            z = model.encoder(x)[0]
            prior = torch.randn(500, r["z_dim"], generator=rng(7)).to(dev)
            extra = {"test_l2_reconstruction": round(float((model.reconstruct(x) - x).pow(2).flatten(1).sum(1).mean()), 3),
                     "test_codes_mmd2_imq": round(float(NA.mmd2_imq(z, prior, scales=RECIPES["wae"]["scales"])), 5),
                     "test_codes_std": [round(float(v), 3) for v in z.std(0)]}
            if name == "vae":
                extra["test_nelbo"] = round(evaluate_nelbo(model, binarize(digits.test_x, seed=0).to(dev)), 2)
        return model, {**r, "steps": steps}, extra

    return trainer


def _translation_scores(digits, G, task: str, dev) -> dict:
    """The lecture's measurements of a translator on the test pairs: per-pixel L1 and the digit classifier's
    accuracy, plus FID (n = 500) of its digits against the 500 test digits."""
    from course_lib.domains import decolourise, plain_and_coloured, to_gray

    G.eval()
    with torch.no_grad():
        if task == "plain -> coloured (paired)":
            out = {task: (decolourise(G(digits.test_x[:500].to(dev)).cpu()), digits.test_x[:500])}
        else:
            u = plain_and_coloured(digits)
            out = {"coloured -> plain": (to_gray(G.b2a(u.test_b[:500].to(dev)).cpu()), digits.test_x[:500]),
                   "plain -> coloured": (decolourise(G.a2b(u.test_a[:500].to(dev)).cpu()), digits.test_x[:500])}
    scores = {}
    for name, (y, target) in out.items():
        q = M.translation_quality(y, target, digits.test_y[:500])
        scores[name] = {"pixel_l1": round(q["pixel_l1"], 4), "accuracy": round(q["accuracy"], 3),
                        "fid": round(M.fid(y, digits.test_x[:500], verbose=False).value, 2)}
    return scores


def conditional_game(G, D, labels, digits, r, steps: int, dev, desc: str, callback=None, images=None) -> None:
    """A game of conditional players, the label into both, on the training digits with ``labels`` (their
    classes, or cluster ids), or on ``images`` made from them (LAPGAN's 8x8 low-pass digits): codes from
    rng(seed + 1), batches from rng(seed). The game, optimisers, weight
    clipping and critic steps per generator step are the recipe's (r["game"], default the cGAN's non-saturating
    loss; see gan_losses and optimizers; r["k"], default 1)."""
    g = rng(r["seed"] + 1)
    d_game, g_game = gan_losses(r.get("game", "dcgan"), r)
    (opt_g, opt_d), clip = optimizers(r, G, D)
    if clip:
        clip()

    def z_of(n):
        return torch.randn(n, G.z_dim, generator=g).to(dev)

    def d_loss(batch):
        x, y = batch
        return d_game(lambda t: D(t, y), lambda z: G(z, y), x, z_of(len(x)))

    def g_loss(batch):
        x, y = batch
        return g_game(lambda t: D(t, y), lambda z: G(z, y), z_of(len(x)))

    stream = batches((digits.train_x if images is None else images, labels), r["batch_size"], rng(r["seed"]), dev)
    train_adversarial(stream, d_loss, g_loss, opt_d, opt_g, D, G, steps, k=r.get("k", 1), after_d_step=clip,
                      callback=callback, desc=desc)


def train_cgan(digits, dev, scale: float, budget: str = "full"):
    from course_lib.nets import ConditionalDiscriminator

    r = recipe("cgan", budget)
    steps = max(1, int(r["steps"] * scale))
    seed_everything(r["seed"])
    G, D = build("cgan").to(dev), ConditionalDiscriminator(width=r["width"]).to(dev)
    conditional_game(G, D, digits.train_y, digits, r, steps, dev, desc="cGAN (shipped)")
    G.eval()
    labels = torch.arange(500) % 10
    acc = float((M.class_probs(G.sample(500, rng(1), labels=labels).cpu()).argmax(1) == labels).double().mean())
    return G, {**r, "steps": steps}, {"class_accuracy": round(acc, 3)}


class SelfConditionedGenerator(Generator):
    """A conditional generator whose labels are cluster ids: ``sample(n, generator)`` draws n clusters in
    proportion to ``cluster_sizes`` (first, from ``generator``), then the codes z, so it is a noise-to-image
    generator under the course's sampling contract."""

    def __init__(self, conditional, cluster_sizes):
        super().__init__()
        self.conditional, self.z_dim = conditional, conditional.z_dim
        self.register_buffer("cluster_sizes", torch.as_tensor(cluster_sizes, dtype=torch.long))  # any device has int64

    def forward(self, z, clusters):
        return self.conditional(z, clusters)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, batch_size: int = 1000) -> torch.Tensor:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{type(self).__name__}.sample: expected a positive number of samples n, got {n!r}")
        weights = self.cluster_sizes.cpu().double()
        clusters = torch.multinomial(weights, n, replacement=True, generator=generator)
        z = self.prior(n, generator)
        dev = self.cluster_sizes.device
        return torch.cat([self(z[i:i + batch_size].to(dev), clusters[i:i + batch_size].to(dev))
                          for i in range(0, n, batch_size)])


@torch.no_grad()
def average_weights_(average: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """One step of an exponential moving average of ``model``'s parameters, kept in ``average`` (a copy of it)."""
    for pa, p in zip(average.parameters(), model.parameters()):
        pa.lerp_(p, 1 - decay)


def kmeans_clusters(x: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """Each image's k-means cluster on raw pixels (scikit-learn's KMeans, k-means++ starts, best of 3)."""
    from sklearn.cluster import KMeans

    labels = KMeans(k, n_init=3, random_state=seed).fit_predict(x.flatten(1).cpu().float().numpy())
    return torch.as_tensor(labels).long()


def self_conditioned(r: dict, digits, dev, steps: int, desc: str = "self-conditioned GAN", images=None):
    """Lecture 7's conditional players (width r["width"], the discriminator normalised by r.get("d_norm",
    "batch")), or with r["players"] == "mlp" the MLP GAN's made conditional the same way (r["z_dim"], r["hidden"],
    r["depth"]), or with "coarse" LAPGAN's 8x8 players (r["z_dim"], r["hidden"]; trained on ``images``, the
    digits' 8x8 low-pass images), in the recipe's game on the training digits' k-means clusters (r["clusters"]
    of them, on the digits' pixels, or for "coarse" on ``images``, seeded by r["seed"]) in place of labels.
    Returns the generator under the sampling contract (a moving average of its weights if r["ema_decay"] > 0;
    BatchNorm's running statistics: the latest) and the clusters' purity."""
    from course_lib.nets import ConditionalDiscriminator, ConditionalGenerator

    # LAPGAN's 8x8 players cluster the images they learn: their own space, and 10x faster than 784 pixels
    clusters = kmeans_clusters(images if r.get("players") == "coarse" else digits.train_x, r["clusters"], r["seed"])
    seed_everything(r["seed"])
    if r.get("players") == "mlp":
        G = ConditionalImageMLPGenerator(r["clusters"], r["z_dim"], r["hidden"], r["depth"]).to(dev)
        D = ConditionalMLPDiscriminator(r["clusters"], r["hidden"], r["depth"]).to(dev)
    elif r.get("players") == "coarse":
        G = ConditionalCoarseGenerator(r["clusters"], r["z_dim"], r["hidden"], size=images.shape[-1]).to(dev)
        D = ConditionalMLPDiscriminator(r["clusters"], r["hidden"], 2, in_dim=images[0].numel()).to(dev)
    else:
        G = ConditionalGenerator(n_classes=r["clusters"], width=r["width"]).to(dev)
        D = ConditionalDiscriminator(n_classes=r["clusters"], width=r["width"], norm=r.get("d_norm", "batch")).to(dev)
    average = copy.deepcopy(G) if r.get("ema_decay") else G

    def update_average(step):
        if average is not G:
            average_weights_(average, G, r["ema_decay"])
            with torch.no_grad():
                for ba, b in zip(average.buffers(), G.buffers()):
                    ba.copy_(b)

    conditional_game(G, D, clusters, digits, r, steps, dev, desc=desc, callback=update_average, images=images)
    sizes = torch.bincount(clusters, minlength=r["clusters"]).tolist()
    purity = sum(int(torch.bincount(digits.train_y[clusters == c], minlength=10).max()) for c in range(r["clusters"])
                 if sizes[c]) / len(clusters)
    return SelfConditionedGenerator(average.eval(), sizes).to(dev), round(purity, 3)


def train_selfcond(digits, dev, scale: float, budget: str = "full"):
    r = recipe("selfcond", budget)
    steps = max(1, int(r["steps"] * scale))
    model, purity = self_conditioned(r, digits, dev, steps)
    return model, {**r, "steps": steps}, {"cluster_purity": purity}


def _pyramid(x, levels: int = 3):
    """Lecture 8's Laplacian pyramid [h_0, ..., I_K] of one-channel images (its own copy: a maintainer tool)."""
    b = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    kernel = (b[:, None] * b[None, :]).to(x)[None, None]
    up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
    out = []
    for _ in range(levels - 1):
        small = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel)[..., ::2, ::2]
        out.append(x - up(small))
        x = small
    return out + [x], up


def train_lapgan(digits, dev, scale: float, budget: str = "full"):
    """Lecture 8's LAPGAN, each level on real low-pass images. The recipe's optional keys (a probe's changes,
    tools/probe_prior.py lapgan; the table's row and the shipped weights have none of them): ``clusters`` K > 0
    trains the 8x8 level self-conditioned on K pixel clusters (self_conditioned's "coarse" players, with
    ``ema_decay``) and samples it as SelfConditionedGenerator; ``coarse_lr`` the 8x8 level's learning rate;
    ``level_depth`` the levels' convolutions (3); ``level_batch_size`` their batch (batch_size); ``lambda_l1``
    times the L1 distance of a level's residual to the real one added to its generator's loss (pix2pix's term;
    Denton et al. train the levels adversarially only); ``level_ema`` d > 0 samples each level as a moving average
    of its generator's weights, of decay min(d, (1 + t) / (10 + t)) at step t; ``channels_last`` trains the levels'
    players in channels-last memory layout (the same arithmetic, faster on a CPU) and returns them in the usual one;
    ``fused_adam`` gives every level's Adam the fused kernel."""
    from course_lib.data import pad_images
    from course_lib.nets import CoarseDiscriminator, LevelDiscriminator, LevelGenerator

    r = recipe("lapgan", budget)
    steps = {k: max(1, int(v * scale)) for k, v in r["steps"].items()}
    seed_everything(r["seed"])
    model = build("lapgan").to(dev)
    if "level_depth" in r:
        model.generators = torch.nn.ModuleList(LevelGenerator(1, r["width"], r["level_depth"])
                                               for _ in model.generators).to(dev)
    x = pad_images(digits.train_x)
    pyramid, up = _pyramid(x)
    g = rng(r["seed"] + 1)
    opt = lambda m: adam(m, r["lr"], r["betas"], r.get("fused_adam", False))  # noqa: E731
    seconds, extra = {}, {}
    start = time.time()
    coarse_r = {**r, "lr": r.get("coarse_lr", r["lr"])}
    if r.get("clusters"):
        model.coarse, extra["cluster_purity"] = self_conditioned(
            {**coarse_r, "players": "coarse", "game": "gan"}, digits, dev, steps["8x8"],
            desc="LAPGAN 8x8, self-conditioned", images=pyramid[-1])
    else:
        coarse, Dc = model.coarse, CoarseDiscriminator(8, 1, r["hidden"]).to(dev)
        opt_coarse = lambda m: adam(m, coarse_r["lr"], r["betas"], r.get("fused_adam", False))  # noqa: E731
        d_loss, g_loss = gan_losses("gan", r)              # the 8x8 level is a plain GAN: non-saturating loss
        train_gan(coarse, Dc, pyramid[-1], steps["8x8"], opt_coarse(coarse), opt_coarse(Dc),
                  batch_size=r["batch_size"], seed=r["seed"], d_loss=d_loss,
                  g_loss=g_loss, desc="LAPGAN 8x8 (shipped)")
    seconds["8x8"] = round(time.time() - start, 1)
    lam, level_ema = r.get("lambda_l1", 0.0), r.get("level_ema", 0.0)
    image = pyramid[-1]
    for k, G in zip((1, 0), model.generators):            # the generators run coarse to fine
        image_k = up(image) + pyramid[k]
        low, high = image_k - pyramid[k], pyramid[k]
        image = image_k
        size = high.shape[-1]
        D = LevelDiscriminator(1, size, r["width"]).to(dev)
        if r.get("channels_last"):      # the same arithmetic in the layout oneDNN's CPU convolutions run fastest
            for player in (G, D):
                player.to(memory_format=torch.channels_last)

        def noise(n, size=size):
            return torch.randn(n, 1, size, size, generator=g).to(dev)

        def d_loss(batch, G=G, D=D, noise=noise):
            lo, hi = batch
            fake = G(torch.cat([lo, noise(len(lo))], 1)).detach()
            return bce(D(torch.cat([lo + hi, lo], 1)), 1.0) + bce(D(torch.cat([lo + fake, lo], 1)), 0.0)

        def g_loss(batch, G=G, D=D, noise=noise):
            lo, hi = batch
            h = G(torch.cat([lo, noise(len(lo))], 1))
            adv = bce(D(torch.cat([lo + h, lo], 1)), 1.0)
            if not lam:
                return adv
            l1 = (h - hi).abs().mean()
            return adv + lam * l1, {"adv": adv, "l1": l1}

        average = copy.deepcopy(G) if level_ema else None

        def update_average(step, G=G, average=average):
            if average is not None:     # a warm-up (TensorFlow's num_updates) lets a short level forget its init
                average_weights_(average, G, min(level_ema, (1 + step) / (10 + step)))

        start = time.time()
        name = f"{size}x{size}"
        train_adversarial(batches((low, high), r.get("level_batch_size", r["batch_size"]), rng(r["seed"] + 2 + k),
                                  dev), d_loss, g_loss, opt(D), opt(G), D, G, steps[name],
                          desc=f"LAPGAN {name} (shipped)", callback=update_average)
        if average is not None:
            G.load_state_dict(average.state_dict())
        G.to(memory_format=torch.contiguous_format)
        seconds[name] = round(time.time() - start, 1)
    model.eval()
    with torch.no_grad():
        stages = model.sample(500, rng(1), levels=True)
    fids = {}
    for name, img in zip(("8x8", "16x16"), stages[:2]):
        while img.shape[-1] < 32:
            img = up(img)
        fids[name] = round(M.fid(img.clamp(0, 1)[..., 2:30, 2:30].cpu(), digits.test_x[:500], verbose=False).value, 1)
    return model, {**r, "steps": sum(steps.values()), "steps_per_level": steps}, {"seconds_per_level": seconds,
                                                                                  "fid_after_level": fids, **extra}


def _train_pix2pix(name):
    def trainer(digits, dev, scale: float, budget: str = "full"):
        from course_lib.domains import colourisation_pairs
        from course_lib.nets import PatchDiscriminator

        r = recipe(name, budget)
        steps = max(1, int(r["steps"] * scale))
        seed_everything(r["seed"])
        p = colourisation_pairs(digits)
        G = build(name).to(dev)
        stream = batches((p.train_x, p.train_y), r["batch_size"], rng(r["seed"]), dev)
        opt_g = adam(G, r["lr"], r["betas"])
        if name == "l1":
            for step in range(1, steps + 1):
                x, y = next(stream)
                loss = (G(x) - y).abs().mean()
                opt_g.zero_grad()
                loss.backward()
                opt_g.step()
        else:
            D = PatchDiscriminator(4, width=r["d_width"], n_layers=r["d_layers"]).to(dev)

            def d_loss(batch):
                x, y = batch
                return bce(D(x, y), 1.0) + bce(D(x, G(x).detach()), 0.0)

            def g_loss(batch):
                x, y = batch
                fake = G(x)
                l1 = (fake - y).abs().mean()
                return bce(D(x, fake), 1.0) + r["lambda_l1"] * l1, {"l1": l1}

            train_adversarial(stream, d_loss, g_loss, adam(D, r["lr"], r["betas"]), opt_g, D, G, steps,
                              desc="pix2pix (shipped)")
        return G, {**r, "steps": steps}, {"scores": _translation_scores(digits, G, r["task"], dev)}

    return trainer


class _Pool:
    """The image history of CycleGAN (Shrivastava et al.): up to ``size`` past fakes; once full, each new fake is
    returned as it is or, with probability 1/2, swapped for a stored one."""

    def __init__(self, size, generator):
        self.size, self.g, self.images = size, generator, []

    def __call__(self, batch):
        out = []
        for im in batch.detach():
            if len(self.images) < self.size:
                self.images.append(im.clone())
                out.append(im)
            elif torch.rand(1, generator=self.g).item() > 0.5:
                i = int(torch.randint(0, self.size, (1,), generator=self.g))
                out.append(self.images[i])
                self.images[i] = im.clone()
            else:
                out.append(im)
        return torch.stack(out)


def train_cyclegan(digits, dev, scale: float, budget: str = "full"):
    from course_lib.domains import plain_and_coloured
    from course_lib.nets import PatchDiscriminator

    r = recipe("cyclegan", budget)
    steps = max(1, int(r["steps"] * scale))
    seed_everything(r["seed"])
    u = plain_and_coloured(digits)
    pair = build("cyclegan").to(dev)
    G_ab, G_ba = pair.a2b, pair.b2a
    D_a, D_b = (PatchDiscriminator(3, width=r["d_width"], n_layers=r["d_layers"], norm="instance").to(dev)
                for _ in range(2))
    pool_a, pool_b = _Pool(r["pool"], rng(r["seed"] + 2)), _Pool(r["pool"], rng(r["seed"] + 3))
    lam, lam_id = r["lambda_cycle"], r["lambda_identity"] * r["lambda_cycle"]

    def mse(x, target):
        return (x - target).pow(2).mean()

    def g_loss(batch):
        a, b = batch
        fake_b, fake_a = G_ab(a), G_ba(b)
        adv = mse(D_b(fake_b), 1.0) + mse(D_a(fake_a), 1.0)
        cycle = (G_ba(fake_b) - a).abs().mean() + (G_ab(fake_a) - b).abs().mean()
        ident = (G_ab(b) - b).abs().mean() + (G_ba(a) - a).abs().mean()
        state["fakes"] = (fake_a.detach(), fake_b.detach())
        return adv + lam * cycle + lam_id * ident, {"cycle": cycle, "identity": ident}

    def d_loss(batch):
        a, b = batch
        with torch.no_grad():
            fake_a, fake_b = G_ba(b), G_ab(a)
        fa, fb = pool_a(fake_a), pool_b(fake_b)
        return 0.5 * (mse(D_a(a), 1.0) + mse(D_a(fa), 0.0) + mse(D_b(b), 1.0) + mse(D_b(fb), 0.0))

    state = {}
    # unpaired: A's and B's batches are drawn with independent index streams
    sa, sb = batches(u.train_a, r["batch_size"], rng(r["seed"]), dev), batches(u.train_b, r["batch_size"], rng(r["seed"] + 1), dev)
    stream = iter(lambda: (next(sa), next(sb)), None)
    opt_g = torch.optim.Adam(list(G_ab.parameters()) + list(G_ba.parameters()), lr=r["lr"], betas=tuple(r["betas"]))
    opt_d = torch.optim.Adam(list(D_a.parameters()) + list(D_b.parameters()), lr=r["lr"], betas=tuple(r["betas"]))
    train_adversarial(stream, d_loss, g_loss, opt_d, opt_g, [D_a, D_b], [G_ab, G_ba], steps, desc="CycleGAN (shipped)")
    return pair, {**r, "steps": steps}, {"scores": _translation_scores(digits, pair, r["task"], dev)}


TRAINERS = {"gan": train_mlp_gan, "dcgan": train_dcgan, "glo": train_glo, "glann": train_glann, "wae": _autoencoder_trainer("wae"),
            "vae": _autoencoder_trainer("vae"), "vaegan": train_vaegan, **{n: train_variant(n) for n in ("lsgan", "sngan", "wgan",
                                                                                          "wgangp")},
            "cgan": train_cgan, "selfcond": train_selfcond,
            "pix2pix": _train_pix2pix("pix2pix"), "l1": _train_pix2pix("l1"), "cyclegan": train_cyclegan, "lapgan": train_lapgan}

SHIPPED = sorted(n for n in TRAINERS if n not in ("gan", "selfcond"))   # these two are only rows of the results table


def _save_translator(a, name, model, recipe, extra, seconds, digits, dev) -> None:
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
               a.out / f"{name}.pt")
    info = {"name": name, "class": type(model).__name__, "parameters": count_parameters(model), "recipe": recipe,
            "seed": recipe["seed"], "data_source": digits.source,
            "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)",
            "train_seconds": round(seconds, 1), "torch_version": torch.__version__, "commit": commit(), "mode": "eval",
            "score_protocol": "the first 500 test pairs: mean |output - truth| per pixel, FeatureNet's accuracy on the "
                              "outputs' digits, FID (n = 500) of the outputs' digits vs the first 500 test digits",
            "stored_as": "float16 state dict", **extra}
    (a.out / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"{name}: {seconds:.0f} s; {extra.get('scores')} -> {a.out / name}.pt", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=SHIPPED, help="which models (default: all that ship)")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="multiply every step count (a quick trial)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where the .pt and .json files go")
    a = ap.parse_args(argv)
    dev = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    digits = load_mnist()
    reference = digits.test_x[:500]
    a.out.mkdir(parents=True, exist_ok=True)
    for name in a.names:
        if name not in SHIPPED:
            ap.error(f"{name!r} does not ship; expected some of {SHIPPED} (tools/results.py trains every model)")
        start = time.time()
        model, recipe, extra = TRAINERS[name](digits, dev, a.steps_scale)
        seconds = time.time() - start
        model = model.cpu()
        if not hasattr(model, "sample"):      # a translator: the trainer measured it on the test pairs
            _save_translator(a, name, model, recipe, extra, seconds, digits, dev)
            continue
        fids = fid_both_modes(model, reference)
        # Eval mode (running BatchNorm statistics) unless train mode is clearly better: in eval mode a sample
        # depends on its code alone, not on the batch it is drawn with, which latent arithmetic needs.
        mode = "train" if fids["train"] < 0.9 * fids["eval"] else "eval"
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
                   a.out / f"{name}.pt")
        info = {
            "name": name, "class": type(model).__name__, "parameters": count_parameters(model),
            "recipe": recipe, "seed": recipe["seed"], "data_source": digits.source,
            "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)",
            "train_seconds": round(seconds, 1), "torch_version": torch.__version__, "commit": commit(),
            "fid": fids[mode], "fid_by_mode": fids, "mode": mode,
            "fid_protocol": "500 samples (course_lib.rng(1)) vs the first 500 test digits, course FeatureNet",
            "stored_as": "float16 state dict", **extra,
        }
        # The FID of the stored (float16) weights, as a student will load them.
        from course_lib.pretrained import load_pretrained  # noqa: E402  (reads the files just written)
        if a.out == WEIGHTS_DIR:
            (a.out / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
            shipped = load_pretrained(name)
            info["fid"] = round(M.fid(shipped.sample(500, rng(1)), reference, verbose=False).value, 2)
        (a.out / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
        print(f"{name}: {seconds:.0f} s on {info['device']}; FID {info['fid']} ({mode} mode; {fids}) -> {a.out / name}.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
