"""Where the course decides three things once: which device, which random seed, which budget.

Notebooks never write ``"cuda"`` or a literal epoch count; they ask here.

* ``device()``  CUDA, then Apple MPS, then CPU (override: ``COURSE_DEVICE=cpu``).
* ``seed_everything(seed)``  Python, NumPy and torch generators in one call.
* ``budget()``  ``fast`` under CI, under nbgrader (``NBGRADER_EXECUTION``) and by default on CPU;
  ``full`` on a GPU or when asked (``COURSE_BUDGET=full``). ``budget().pick(fast=..., full=...)``
  chooses a number.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

BUDGETS = ("fast", "full")


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def device() -> torch.device:
    """The device the course runs on: ``COURSE_DEVICE`` if set, else CUDA, MPS, CPU."""
    wanted = os.environ.get("COURSE_DEVICE", "").strip()
    if wanted:
        try:
            dev = torch.device(wanted)
        except RuntimeError as exc:
            raise ValueError(f"COURSE_DEVICE={wanted!r} is not a torch device name (try cpu, cuda, mps)") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("COURSE_DEVICE asks for cuda, but torch sees no CUDA GPU on this machine")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Budget:
    """How much compute a notebook may spend: ``fast`` (CI, grading, CPU) or ``full`` (a GPU)."""

    name: str
    reason: str

    @property
    def fast(self) -> bool:
        return self.name == "fast"

    def pick(self, fast, full):
        """``fast`` in the fast budget, ``full`` in the full one."""
        return fast if self.fast else full

    def __str__(self) -> str:
        return f"budget: {self.name} ({self.reason})"


def budget() -> Budget:
    """Decide the budget from the environment (read at each call, so tests can change it)."""
    if _truthy("NBGRADER_EXECUTION"):  # nbgrader sets it to "validate" or "autograde"
        return Budget("fast", "running under nbgrader")
    if _truthy("CI"):
        return Budget("fast", "running under CI")
    asked = os.environ.get("COURSE_BUDGET", "").strip().lower()
    if asked:
        if asked not in BUDGETS:
            raise ValueError(f"COURSE_BUDGET={asked!r}: expected one of {', '.join(BUDGETS)}")
        return Budget(asked, "COURSE_BUDGET")
    if device().type == "cuda":
        return Budget("full", "a CUDA GPU is available")
    return Budget("fast", f"default on {device().type}")
