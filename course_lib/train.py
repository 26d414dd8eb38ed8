"""A small training loop: a progress bar, a loss history, nothing hidden.

``fit`` runs ``epochs`` passes over ``batches``; ``loss_fn(batch)`` returns a scalar loss, or
``(loss, {"name": value, ...})`` to log more numbers. The history keeps every step and every epoch mean.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from .runtime import budget


@dataclass
class History:
    """Per-step values (``steps[name]``) and per-epoch means (``epochs[name]``) of every logged number."""

    steps: dict = field(default_factory=lambda: defaultdict(list))
    epochs: dict = field(default_factory=lambda: defaultdict(list))

    def log_step(self, values: dict):
        for k, v in values.items():
            self.steps[k].append(float(v))

    def close_epoch(self, n_steps: int):
        for k, v in self.steps.items():
            tail = v[-n_steps:]
            self.epochs[k].append(sum(tail) / max(len(tail), 1))

    def __getitem__(self, name):
        return self.steps[name]


def progress(iterable=None, **kwargs):
    """tqdm with a fixed layout: no timings in the fast budget, so executed notebooks stay reproducible."""
    if budget().fast:
        kwargs.setdefault("bar_format", "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}")
    kwargs.setdefault("mininterval", 0.5)
    # tqdm's notebook bar ignores TQDM_DISABLE; honour it here (course.py execute sets it so that
    # committed notebooks carry no progress widgets, whose ids change on every run).
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no"):
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


def fit(loss_fn, optimizer: torch.optim.Optimizer, batches, epochs: int, desc: str = "train",
        history: History | None = None, device=None) -> History:
    """Minimise ``loss_fn`` with ``optimizer`` for ``epochs`` passes over ``batches``.

    Each batch is moved to ``device`` (if given) before ``loss_fn`` sees it. A NaN or infinite loss
    stops training with an error that names the step, instead of silently wrecking the weights.
    """
    history = history or History()
    bar = progress(range(epochs), desc=desc)
    for epoch in bar:
        n = 0
        for batch in batches:
            if device is not None:
                batch = [b.to(device) for b in batch] if isinstance(batch, (list, tuple)) else batch.to(device)
            out = loss_fn(batch)
            loss, extra = (out if isinstance(out, tuple) else (out, {}))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{desc}: the loss became {loss.item()} at epoch {epoch}, step {n}; "
                                         "lower the learning rate or check the loss for log(0) / exp overflow")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.log_step({"loss": loss.detach(), **{k: (v.detach() if torch.is_tensor(v) else v)
                                                        for k, v in extra.items()}})
            n += 1
        history.close_epoch(n)
        bar.set_postfix_str(", ".join(f"{k} {v[-1]:.4g}" for k, v in history.epochs.items()
                                      if not math.isnan(v[-1])), refresh=False)
    bar.close()
    return history
