"""Train the FeatureNet behind the course's FID and Inception Score, and ship its weights.

    python tools/train_feature_net.py [--epochs N] [--seed S] [--source auto|embedded|torchvision]

Trains on ``load_mnist()`` (full MNIST if present, else the 4,500 embedded digits) with small random
rotations, scalings and shifts, then writes ``course_lib/weights/feature_net.pt`` (float32 state dict) and
``feature_net.json`` (accuracies, data source, epochs, seconds, parameter count, torch version). The number
of epochs is fixed in advance, never chosen on the test digits. A maintainer tool: it lives outside the
course_lib package (run it from the repository root with the course's Python, e.g. ``.venv/bin/python``).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's course_lib, wherever it runs from

from course_lib.data import load_mnist, loader  # noqa: E402
from course_lib.metrics import WEIGHTS_DIR, FeatureNet  # noqa: E402
from course_lib.nets import count_parameters  # noqa: E402
from course_lib.runtime import seed_everything  # noqa: E402

EPOCHS = {"embedded": 40, "torchvision": 4}  # about the same number of steps: 15 s on 2 CPU cores (embedded)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random rotation (±10°), scale (0.9-1.1) and shift (±2 px) of each image: digits a writer might draw."""
    n = len(x)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=generator)  # noqa: E731
    angle, scale = u(-10, 10) * math.pi / 180, u(0.9, 1.1)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / 14)  # grid units: 14 px per unit
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


@torch.no_grad()
def accuracy(net: FeatureNet, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    net.eval()
    correct = sum(int((net(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def train(epochs: int | None = None, seed: int = 0, source: str = "auto", lr: float = 2e-3,
          batch_size: int = 64) -> tuple[FeatureNet, dict]:
    """A seeded FeatureNet trained on ``load_mnist(source)``, and the facts feature_net.json records."""
    digits = load_mnist(source)
    kind = "torchvision" if digits.source.startswith("torchvision") else "embedded"
    epochs = epochs or EPOCHS[kind]
    gen = seed_everything(seed)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # the same seed gives the same weights, byte for byte
    try:
        net, seconds = _fit(digits, epochs, gen, seed, lr, batch_size)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    embedded = digits if kind == "embedded" else load_mnist("embedded", verbose=False)
    info = {
        "test_accuracy": accuracy(net, digits.test_x, digits.test_y),
        "test_size": len(digits.test_y),
        "embedded_test_accuracy": accuracy(net, embedded.test_x, embedded.test_y),  # the 500 shipped test digits
        "data_source": digits.source,
        "epochs": epochs,
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "parameters": count_parameters(net),
        "feature_dim": FeatureNet.feature_dim,
        "torch_version": torch.__version__,
    }
    return net.eval(), info


def _fit(digits, epochs, gen, seed, lr, batch_size):
    """Adam with a one-cycle learning rate on augmented batches; (net, seconds)."""
    net = FeatureNet()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    batches = loader(digits.train_x, digits.train_y, batch_size=batch_size, seed=seed)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(batches))
    start = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        total, n = 0.0, 0
        for xb, yb in batches:
            loss = F.cross_entropy(net(augment(xb, gen)), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total, n = total + loss.item() * len(xb), n + len(xb)
        print(f"epoch {epoch + 1:2d}/{epochs}: train loss {total / n:.4f}", flush=True)
    return net, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: 40 on the embedded digits, 4 on full MNIST")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default="auto", choices=["auto", "embedded", "torchvision"])
    args = parser.parse_args(argv)
    net, info = train(args.epochs, args.seed, args.source)
    WEIGHTS_DIR.mkdir(exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}
    torch.save(state, WEIGHTS_DIR / "feature_net.pt")
    (WEIGHTS_DIR / "feature_net.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"test accuracy {info['test_accuracy']:.2%} on {info['test_size']:,} digits "
          f"({info['embedded_test_accuracy']:.2%} on the 500 embedded ones); wrote {WEIGHTS_DIR / 'feature_net.pt'}")


if __name__ == "__main__":
    main()
