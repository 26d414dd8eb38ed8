"""Generators (and lecture 7's translators) the course trained once, at a budget a laptop cannot spend in a lecture, and ships.

A lecture trains its models live in the fast budget (seconds on a CPU) and shows these beside them, so that a
student sees what the same recipe reaches with more training:

    G = load_pretrained("dcgan")     # ConvGenerator(z_dim=64, width=32): the DCGAN of lecture 4
    vg = load_pretrained("vaegan")   # VAE(z_dim=16, kind="conv") fine-tuned with a discriminator (lecture 4)
    load_pretrained("wgangp")        # lecture 5: the same generator trained as a WGAN-GP (also "lsgan", "sngan", "wgan")
    load_pretrained("cyclegan").b2a  # lecture 7: translators too (available("translators"))
    load_pretrained("lapgan")        # lecture 8: a Laplacian pyramid of GANs (samples 28x28, like the others)
    pretrained_info("dcgan")         # the recipe, data, device, seconds, torch version and measured FID

Each model is a float16 state dict in ``course_lib/weights/<name>.pt`` (half the bytes; loaded back as float32)
with its provenance beside it in ``<name>.json``. ``python tools/train_pretrained.py [NAME ...]`` re-creates
them from a seed. These are tools for looking at samples: no assignment accepts them as an answer, and the
training checks that could be passed by loading them test for it.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .models import VAE
from .nets import LAPGAN, ConditionalGenerator, ConvGenerator, GLOGenerator, ResnetTranslator, UNet


class CycleGAN(nn.Module):
    """CycleGAN's two generators, shipped together: ``a2b`` (plain -> coloured digits) and ``b2a`` (back)."""

    def __init__(self, width: int = 8, n_blocks: int = 2):
        super().__init__()
        self.a2b = ResnetTranslator(3, 3, width, n_blocks)
        self.b2a = ResnetTranslator(3, 3, width, n_blocks)

    def forward(self, a):
        return self.a2b(a)


WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TRAIN_COMMAND = "python tools/train_pretrained.py"

#: name -> (class, keyword arguments): the architecture each file's state dict belongs to.
ARCHITECTURES = {
    "dcgan": (ConvGenerator, {"z_dim": 64, "width": 32}),
    "vaegan": (VAE, {"z_dim": 16, "kind": "conv"}),
    # lecture 5: the DCGAN's generator trained with other losses and constraints on the discriminator
    "lsgan": (ConvGenerator, {"z_dim": 64, "width": 32}),
    "sngan": (ConvGenerator, {"z_dim": 64, "width": 32}),
    "wgan": (ConvGenerator, {"z_dim": 64, "width": 32}),
    "wgangp": (ConvGenerator, {"z_dim": 64, "width": 32}),
    # lecture 3: GLO's generator (random codes on the unit sphere), GLANN (noise -> IMLE mapper -> the same kind of
    # generator), and the WAE and VAE on one conv autoencoder
    "glo": (GLOGenerator, {"code_dim": 64, "width": 32, "n_codes": 500}),
    "glann": (GLOGenerator, {"code_dim": 64, "width": 32, "noise_dim": 32, "mapper_hidden": 256, "n_codes": 500}),
    "wae": (VAE, {"z_dim": 8, "kind": "conv", "hidden": 128}),
    "vae": (VAE, {"z_dim": 8, "kind": "conv", "hidden": 128}),
    # lecture 7: a conditional GAN; pix2pix's U-Net and the same U-Net trained with L1 alone (plain -> coloured);
    # CycleGAN's pair of generators (plain <-> coloured digits)
    "cgan": (ConditionalGenerator, {"n_classes": 10, "z_dim": 64, "width": 32}),
    "pix2pix": (UNet, {"in_channels": 1, "out_channels": 3, "width": 16}),
    "l1": (UNet, {"in_channels": 1, "out_channels": 3, "width": 16}),
    "cyclegan": (CycleGAN, {"width": 8, "n_blocks": 2}),
    # lecture 8: a Laplacian pyramid of GANs on digits padded to 32x32 (8 -> 16 -> 32), samples cropped to 28x28
    "lapgan": (LAPGAN, {"width": 32, "z_dim": 32, "hidden": 256, "crop": 28}),
}


KINDS = ("all", "generators", "translators")


def available(kind: str = "all") -> list[str]:
    """The names ``load_pretrained`` knows: all of them, the ``"generators"`` (models with ``sample(n, generator)``,
    whose samples FID can score) or the ``"translators"`` (image-to-image networks of lecture 7)."""
    if kind not in KINDS:
        raise ValueError(f"available: kind must be one of {KINDS}, got {kind!r}")
    names = sorted(ARCHITECTURES)
    if kind == "all":
        return names
    samples = {name for name in names if hasattr(ARCHITECTURES[name][0], "sample")}
    return [n for n in names if (n in samples) == (kind == "generators")]


def _check_name(name: str) -> None:
    if name not in ARCHITECTURES:
        raise ValueError(f"load_pretrained: expected one of {available()}, got {name!r}")


def pretrained_info(name: str) -> dict:
    """The provenance recorded when the weights were made (recipe, data source, device, seconds, metrics)."""
    _check_name(name)
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"No record of the {name!r} weights at {path}; re-create them with "
                                f"`{TRAIN_COMMAND} {name}` from the repository root.")
    return json.loads(path.read_text())


def build(name: str) -> nn.Module:
    """An untrained model with the architecture of the shipped ``name`` (what the training tool trains)."""
    _check_name(name)
    cls, kwargs = ARCHITECTURES[name]
    return cls(**kwargs)


def load_pretrained(name: str, device=None) -> nn.Module:
    """The shipped model ``name`` (see ``available()``) in float32, on ``device`` (default: the CPU).

    The mode follows the record: a generator with BatchNorm is returned in the mode its FID was measured in
    (``pretrained_info(name)["mode"]``), so ``model.sample(n, generator)`` reproduces the recorded samples.
    """
    model = build(name)
    path = WEIGHTS_DIR / f"{name}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"The shipped {name!r} weights are missing: expected a file at {path}. Re-create "
                                f"them with `{TRAIN_COMMAND} {name}` from the repository root.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except Exception as exc:
        raise RuntimeError(f"The shipped {name!r} weights at {path} could not be loaded ({type(exc).__name__}: "
                           f"{exc}). Re-create them with `{TRAIN_COMMAND} {name}`.") from exc
    mode = pretrained_info(name).get("mode", "eval")
    model.train(mode == "train")
    return model.to(device) if device is not None else model
