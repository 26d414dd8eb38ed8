"""Where the course decides three things once: which device, which random seed, which budget.

Notebooks never write ``"cuda"`` or a literal epoch count; they ask here.

* ``device()``  CUDA, then Apple MPS, then CPU (override: ``COURSE_DEVICE=cpu``); always the CPU under nbgrader.
* ``seed_everything(seed)``  Python, NumPy and torch generators in one call.
* ``budget()``  ``COURSE_BUDGET`` (``fast`` or ``full``) is the one switch; unset, ``full`` on a CUDA GPU
  and ``fast`` elsewhere. Under nbgrader (``NBGRADER_EXECUTION``) it is always ``fast``, so that a grade never
  depends on the machine. ``budget().pick(fast=..., full=...)`` chooses a number.
* ``rng(seed)``  a private CPU ``torch.Generator``: seeded draws that leave the global RNG alone.
* ``env_flag(name)``  whether an environment variable is set to something other than ``""``, ``0``,
  ``false`` or ``no`` (the one place such flags are parsed).
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

BUDGETS = ("fast", "full")


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to anything but "", "0", "false" or "no"."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def device() -> torch.device:
    """The device the course runs on: the CPU under nbgrader (grades must not depend on the grader's machine),
    else ``COURSE_DEVICE`` if set, else CUDA, MPS, CPU."""
    if env_flag("NBGRADER_EXECUTION"):
        return torch.device("cpu")
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
    return rng(seed)


def rng(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``seed``: pass it as ``generator=`` for draws that are the same on every
    device and do not disturb (or depend on) the global random state."""
    return torch.Generator().manual_seed(int(seed))


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


def autograding() -> bool:
    """True while nbgrader autogrades (``NBGRADER_EXECUTION=autograde``), not while a student validates: a notebook
    can then skip work nothing is graded on (a second training run just to look at samples)."""
    return os.environ.get("NBGRADER_EXECUTION", "").strip().lower() == "autograde"


def budget() -> Budget:
    """Decide the budget from the environment (read at each call, so tests can change it)."""
    if env_flag("NBGRADER_EXECUTION"):  # nbgrader sets it to "validate" or "autograde"
        return Budget("fast", "running under nbgrader")
    asked = os.environ.get("COURSE_BUDGET", "").strip().lower()
    if asked:
        if asked not in BUDGETS:
            raise ValueError(f"COURSE_BUDGET={asked!r}: expected one of {', '.join(BUDGETS)}")
        return Budget(asked, f"COURSE_BUDGET={asked}")
    if device().type == "cuda":
        return Budget("full", "a CUDA GPU is available")
    return Budget("fast", f"default on {device().type}")
