"""Two image domains built from the digits, with known ground truth, for image-to-image translation (lecture 7).

* **Paired** (pix2pix): ``colourisation_pairs(digits)`` pairs each plain digit with the same digit coloured
  (``colourise``: a random colour over a random texture), so that one input has many right answers, the setting
  where L1 alone averages them; ``edges_to_digits(digits)`` pairs each digit's edge map (``edge_map``, a Sobel
  gradient magnitude) with the digit, a task with one right answer.
* **Unpaired** (CycleGAN): ``plain_and_coloured(digits)`` gives domain A, plain digits, and domain B, digits drawn in
  a saturated colour over a grayscale texture (``colourise``). The two training sets hold different digits, so
  nothing pairs them; each test image has its known counterpart, so translation can be scored against the truth.

Domain B is built so that the way back is exact: a texture pixel is gray (its three channels equal) and a stroke
colour has one channel at 1 and one at 0, so for ``b = (1 - m) * texture + m * colour`` the spread over channels,
max - min, is exactly the digit m (``decolourise``). The way there is not a function: colour and texture are drawn
at random, which is what makes CycleGAN's cycle consistency interesting here.

``load_image_domains(name)`` reads a full-size public dataset (facades, maps: pix2pix's side-by-side layout;
horse2zebra and the other CycleGAN sets: trainA/trainB/testA/testB) from the data directory when a user has
put it there; nothing downloads.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .data import DataUnavailableError, Digits, data_dir

# Stroke colours: each has a channel at 1 and a channel at 0, so max - min over channels is 1 (decolourise is exact).
PALETTE = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.55, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0],
                        [0.0, 1.0, 1.0], [0.0, 0.45, 1.0], [1.0, 0.0, 1.0]])
TEXTURE_RANGE = (0.1, 0.6)   # texture gray levels: darker than the strokes, never black


def _check_images(x: torch.Tensor, channels: int | None, who: str) -> None:
    if not torch.is_tensor(x) or x.dim() != 4 or (channels is not None and x.shape[1] != channels):
        want = f"(N, {channels}, H, W)" if channels else "(N, C, H, W)"
        raise ValueError(f"{who}: expected images {want}, got "
                         f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """The outline of each digit: the Sobel gradient magnitude of images (N, 1, H, W) in [0, 1], divided by each
    image's largest value, so (N, 1, H, W) in [0, 1] (an empty image gives zeros)."""
    _check_images(x, 1, "edge_map")
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype, device=x.device)
    k = torch.stack([kx, kx.T]).unsqueeze(1)                       # (2, 1, 3, 3): d/dx and d/dy
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k)
    mag = g.pow(2).sum(1, keepdim=True).sqrt()
    return mag / mag.amax(dim=(2, 3), keepdim=True).clamp_min(1e-8)


def textures(n: int, size: int = 28, generator: torch.Generator | None = None) -> torch.Tensor:
    """n grayscale textures (n, 1, size, size) with values in ``TEXTURE_RANGE``: each the sum of three sinusoidal
    gratings of random orientation, frequency and phase plus smoothed noise (procedural, so nothing is read)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"textures: expected a positive number of textures n, got {n!r}")
    r = torch.arange(size, dtype=torch.float32)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    angle = torch.rand(n, 3, 1, 1, generator=generator) * math.pi
    freq = 0.25 + 0.9 * torch.rand(n, 3, 1, 1, generator=generator)          # radians per pixel
    phase = torch.rand(n, 3, 1, 1, generator=generator) * 2 * math.pi
    weight = torch.rand(n, 3, 1, 1, generator=generator)
    waves = (weight * torch.sin(freq * (xx * torch.cos(angle) + yy * torch.sin(angle)) + phase)).sum(1, keepdim=True)
    noise = F.avg_pool2d(torch.randn(n, 1, size + 2, size + 2, generator=generator), 3, 1)
    t = waves + 0.5 * noise
    lo, hi = t.amin(dim=(2, 3), keepdim=True), t.amax(dim=(2, 3), keepdim=True)
    a, b = TEXTURE_RANGE
    return a + (b - a) * (t - lo) / (hi - lo).clamp_min(1e-8)


def colourise(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Digits (N, 1, H, W) in [0, 1] -> domain B (N, 3, H, W): (1 - x) * texture + x * colour, with a colour from
    ``PALETTE`` and a texture drawn at random for each image."""
    _check_images(x, 1, "colourise")
    n, _, h, w = x.shape
    if h != w:
        raise ValueError(f"colourise: expected square images, got {h}x{w}")
    colour = PALETTE[torch.randint(len(PALETTE), (n,), generator=generator)].view(n, 3, 1, 1).to(x)
    tex = textures(n, h, generator).to(x)
    return (1 - x) * tex + x * colour


def decolourise(b: torch.Tensor) -> torch.Tensor:
    """The digit of a domain-B image (N, 3, H, W) -> (N, 1, H, W): max - min over the channels. Exact for images
    made by :func:`colourise` (gray texture, strokes with one channel at 1 and one at 0); for any other image it
    measures how colourful each pixel is."""
    _check_images(b, 3, "decolourise")
    return b.amax(dim=1, keepdim=True) - b.amin(dim=1, keepdim=True)


def gray3(x: torch.Tensor) -> torch.Tensor:
    """Digits (N, 1, H, W) -> the same digits as 3-channel gray images (N, 3, H, W): domain A's form."""
    _check_images(x, 1, "gray3")
    return x.expand(-1, 3, -1, -1).contiguous()


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """3-channel images (N, 3, H, W) -> (N, 1, H, W), the mean over channels (the digit of a domain-A image)."""
    _check_images(x, 3, "to_gray")
    return x.mean(dim=1, keepdim=True)


@dataclass
class PairedDomains:
    """A paired translation task: ``train_x[i]`` translates to ``train_y[i]``; the test pairs likewise, with the
    digits' labels in ``test_labels`` (``None`` for datasets without them)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    test_labels: torch.Tensor | None
    name: str

    def __repr__(self) -> str:
        return (f"PairedDomains({self.name!r}, train={tuple(self.train_x.shape)} -> {tuple(self.train_y.shape)}, "
                f"test={tuple(self.test_x.shape)})")


@dataclass
class UnpairedDomains:
    """An unpaired task: training images of domain A and of domain B with no correspondence between them; test
    images ``test_a[i]`` and ``test_b[i]`` show the same content (for scoring only), with ``test_labels``."""

    train_a: torch.Tensor
    train_b: torch.Tensor
    test_a: torch.Tensor
    test_b: torch.Tensor
    test_labels: torch.Tensor | None
    name: str

    def __repr__(self) -> str:
        return (f"UnpairedDomains({self.name!r}, train A {tuple(self.train_a.shape)}, train B "
                f"{tuple(self.train_b.shape)}, test pairs {len(self.test_a)})")


def edges_to_digits(digits: Digits) -> PairedDomains:
    """pix2pix's task on the digits: edge map (N, 1, 28, 28) -> digit (N, 1, 28, 28), every training digit paired."""
    return PairedDomains(edge_map(digits.train_x), digits.train_x, edge_map(digits.test_x), digits.test_x,
                         digits.test_y, "edges -> digits")


def colourisation_pairs(digits: Digits, seed: int = 0) -> PairedDomains:
    """pix2pix's task on the digits: plain digit (N, 1, 28, 28) -> the same digit coloured (N, 3, 28, 28), every
    training digit paired with one colouring. The test pairs are ``plain_and_coloured(digits, seed)``'s: the same
    coloured test digits, so paired and unpaired methods are scored against the same truth."""
    g = torch.Generator().manual_seed(seed + 1000)
    test = plain_and_coloured(digits, seed)
    return PairedDomains(digits.train_x, colourise(digits.train_x, g), digits.test_x, test.test_b, digits.test_y,
                         "plain -> coloured digits (paired)")


def plain_and_coloured(digits: Digits, seed: int = 0) -> UnpairedDomains:
    """CycleGAN's task on the digits: A = plain digits (as 3-channel gray images), B = coloured digits on textures.

    The training digits are shuffled with ``seed`` and split in two halves: A gets the first, B the second, so no
    digit appears in both. Test pairs: ``test_a`` = the test digits, ``test_b`` = the same digits colourised.
    """
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(digits.train_x), generator=g)
    half = len(order) // 2
    train_a = gray3(digits.train_x[order[:half]])
    train_b = colourise(digits.train_x[order[half:2 * half]], g)
    return UnpairedDomains(train_a, train_b, gray3(digits.test_x), colourise(digits.test_x, g), digits.test_y,
                           "plain <-> coloured digits")


# ---------------------------------------------------------------- full-size datasets, when present

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
PAIRED_LAYOUT = ("train", "val", "test")                       # pix2pix: each file holds input|target side by side
UNPAIRED_LAYOUT = ("trainA", "trainB", "testA", "testB")      # CycleGAN


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)


def _read_images(files, size: int | None) -> torch.Tensor:
    from PIL import Image

    out = []
    for f in files:
        with Image.open(f) as im:
            im = im.convert("RGB")
            if size is not None:
                im = im.resize((size * im.width // im.height, size), Image.BICUBIC)
            out.append(torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()))
    return torch.stack(out).permute(0, 3, 1, 2).float() / 255


def load_image_domains(name: str, root: str | os.PathLike | None = None, size: int | None = 64,
                       limit: int | None = None):
    """A full-size translation dataset from ``<data dir>/<name>`` (``COURSE_DATA_DIR``, default ~/.cache/dgm-course).

    pix2pix's layout (``train/``, ``val/`` or ``test/``; each image holds input and target side by side, as in
    facades and maps) gives :class:`PairedDomains` (input = left half, as the pix2pix datasets are stored, target =
    right half); CycleGAN's (``trainA/ trainB/ testA/ testB/``, as in horse2zebra) gives :class:`UnpairedDomains`.
    Images are resized to ``size`` pixels high (None: as stored) and scaled to [0, 1]; ``limit`` caps each split.
    Nothing downloads: a missing folder raises DataUnavailableError saying where to put the data.
    """
    folder = Path(root) if root is not None else data_dir() / name
    if not folder.is_dir():
        raise DataUnavailableError(
            f"no dataset {name!r} at {folder}: download it yourself (the pix2pix and CycleGAN authors' "
            f"datasets page) and unpack it there; the course's own translation tasks need no download")
    present = {p.name for p in folder.iterdir() if p.is_dir()}
    cap = (lambda fs: fs[:limit]) if limit else (lambda fs: fs)
    if set(UNPAIRED_LAYOUT) <= present:
        parts = [_read_images(cap(_image_files(folder / s)), size) for s in UNPAIRED_LAYOUT]
        return UnpairedDomains(*parts, test_labels=None, name=name)
    if "train" in present and present & {"val", "test"}:
        split = "test" if "test" in present else "val"
        train, test = (_read_images(cap(_image_files(folder / s)), size) for s in ("train", split))
        w = train.shape[-1] // 2
        return PairedDomains(train[..., :w], train[..., w:], test[..., :w], test[..., w:], None, name)
    raise DataUnavailableError(
        f"{folder} has neither CycleGAN's layout ({', '.join(UNPAIRED_LAYOUT)}) nor pix2pix's (train/ and val/ "
        f"or test/); found: {', '.join(sorted(present)) or 'no folders'}")
