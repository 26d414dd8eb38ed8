"""Training loops with nothing hidden: ``fit`` for one loss, ``adversarial_step`` / ``train_adversarial`` for
two-player games, and a strict ``History`` of what they logged.

``fit(loss_fn, optimizer, batches, epochs)`` minimises ``loss_fn(batch)``, which returns a scalar loss or
``(loss, {"name": value, ...})`` to log more numbers.

``adversarial_step`` is one round of Goodfellow et al.'s algorithm 1, written so that every GAN of the course
uses it as it is: the discriminator (or critic) and generator losses are functions of a batch, so penalties
(gradient penalty, R1) and extra terms (L1, cycle consistency) are just terms of those functions; the caller
creates the optimisers; a hook runs after each discriminator step (weight clipping); ``k`` critic steps come
before each generator step; and any number of players sit on each side (CycleGAN's two generators and two
discriminators). Logged values stay on the device and are read back every ``log_every`` steps, so a GPU is not
made to wait for the host after every step.

``train_gan`` is the recipe for a GAN whose losses are functions of the players, ``d_loss(D, G, x, z)`` and
``g_loss(D, G, z)`` (lecture 4 writes them; assignment 3 asks you to): it draws the batches and codes from one
seeded generator and probes D's mean output on real and generated data.
"""
from __future__ import annotations

import math
from itertools import chain
from typing import Callable, Iterable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from .data import batches
from .runtime import budget, env_flag


class History:
    """Named series of logged numbers. ``h["name"]`` is a series' values, ``h.steps("name")`` the step (or
    epoch) at which each was logged: series logged at different rates keep their own steps. An unknown name
    raises a ``KeyError`` that lists the known ones. ``h.epochs`` holds per-epoch means (``fit``).
    """

    def __init__(self, what: str = "history"):
        self._values: dict[str, list] = {}
        self._steps: dict[str, list] = {}
        self._what = what
        self.epochs = History("history.epochs") if what == "history" else None

    def log(self, step: int, values: dict) -> None:
        """Append each named value (a number or a 0-dim tensor) at ``step``."""
        for name, v in values.items():
            self._values.setdefault(name, []).append(float(v))
            self._steps.setdefault(name, []).append(step)

    def _known(self, name: str) -> None:
        if name not in self._values:
            known = ", ".join(sorted(self._values)) or "nothing yet"
            raise KeyError(f"{self._what} has no series {name!r}; it has: {known}")

    def __getitem__(self, name: str) -> list:
        self._known(name)
        return self._values[name]

    def steps(self, name: str) -> list:
        """The steps at which the series ``name`` was logged (epochs, for ``h.epochs``)."""
        self._known(name)
        return self._steps[name]

    def __contains__(self, name) -> bool:
        return name in self._values

    def keys(self):
        return self._values.keys()

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"History({', '.join(f'{k}: {len(v)}' for k, v in self._values.items())})"


def progress(iterable=None, **kwargs):
    """tqdm with a fixed layout: no timings in the fast budget, so executed notebooks stay reproducible."""
    if budget().fast:
        kwargs.setdefault("bar_format", "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}")
    kwargs.setdefault("mininterval", 0.5)
    # tqdm's notebook bar ignores TQDM_DISABLE; honour it here (course.py execute sets it so that
    # committed notebooks carry no progress widgets, whose ids change on every run).
    if env_flag("TQDM_DISABLE"):
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


class _Buffer:
    """Logged values kept on the device until ``flush`` reads them back: one transfer per series (a series'
    values share a device; different series need not, e.g. a float logged next to a CUDA loss)."""

    def __init__(self, history: History, desc: str, advice: str):
        self.history, self.desc, self.advice = history, desc, advice
        self.rows: list[tuple[int, str, dict]] = []

    def add(self, step: int, values: dict, where: str | None = None) -> None:
        self.rows.append((step, where or f"step {step}", {k: _detached(v) for k, v in values.items()}))

    def flush(self) -> dict:
        """Move the buffered values to the host, check them, log them; return the last value of each."""
        names = list(dict.fromkeys(k for _, _, row in self.rows for k in row))
        for name in names:
            rows = [(step, where, row[name]) for step, where, row in self.rows if name in row]
            host = torch.stack([v.reshape(()).float() for _, _, v in rows]).cpu()  # this series' one transfer
            bad = (~torch.isfinite(host)).nonzero()
            if len(bad):
                step, where, _ = rows[int(bad[0])]
                raise FloatingPointError(f"{self.desc}: {name} became {host[int(bad[0])].item()} at {where}; "
                                         f"{self.advice}")
            for (step, _, _), v in zip(rows, host.tolist()):
                self.history.log(step, {name: v})
        self.rows.clear()
        return {k: self.history[k][-1] for k in names}


def _detached(v) -> torch.Tensor:
    return v.detach() if torch.is_tensor(v) else torch.tensor(float(v))


def _postfix(values: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in values.items() if not math.isnan(v))


# ---------------------------------------------------------------- one loss

def fit(loss_fn, optimizer: torch.optim.Optimizer, batches, epochs: int, desc: str = "train",
        history: History | None = None, device=None) -> History:
    """Minimise ``loss_fn`` with ``optimizer`` for ``epochs`` passes over ``batches``.

    Each batch is moved to ``device`` (if given) before ``loss_fn`` sees it. ``h["loss"]`` (and every extra
    name) has one value per step, ``h.epochs["loss"]`` one mean per epoch. Values are read back once per
    epoch; a NaN or infinite loss then stops training with an error that names the epoch and step.
    """
    history = history or History()
    buffer = _Buffer(history, desc, "lower the learning rate or check the loss for log(0) / exp overflow")
    step = len(history["loss"]) if "loss" in history else 0
    bar = progress(range(epochs), desc=desc)
    for epoch in bar:
        n = 0
        for batch in batches:
            if device is not None:
                batch = [b.to(device) for b in batch] if isinstance(batch, (list, tuple)) else batch.to(device)
            out = loss_fn(batch)
            loss, extra = (out if isinstance(out, tuple) else (out, {}))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            buffer.add(step, {"loss": loss, **extra}, where=f"epoch {epoch}, step {n}")
            step, n = step + 1, n + 1
        names = buffer.flush()
        for name in names:
            tail = history[name][-n:]
            history.epochs.log(epoch, {name: sum(tail) / len(tail)})
        bar.set_postfix_str(_postfix({k: history.epochs[k][-1] for k in names}), refresh=False)
    bar.close()
    return history


# ---------------------------------------------------------------- two players

def _modules(players) -> list[nn.Module]:
    if players is None:
        return []
    return [players] if isinstance(players, nn.Module) else list(players)


def _optimizers(opt) -> list:
    return [opt] if isinstance(opt, torch.optim.Optimizer) or not isinstance(opt, (list, tuple)) else list(opt)


def _loss_and_terms(out, who: str):
    loss, terms = out if isinstance(out, tuple) else (out, {})
    if not torch.is_tensor(loss) or loss.dim() != 0:
        raise ValueError(f"adversarial_step: {who} must return a scalar tensor (or (scalar, {{name: value}})); got "
                         f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
    return loss, terms


def _minimise(loss, optimizers) -> None:
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()


def adversarial_step(batches: Sequence, d_loss: Callable, g_loss: Callable, opt_d, opt_g, discriminators,
                     generators, after_d_step: Callable | None = None) -> dict:
    """One round: k = len(batches) discriminator steps, each on its own batch, then one generator step on the
    last batch. Returns the last losses (and any named terms) as detached tensors on the device.

    ``d_loss(batch)`` and ``g_loss(batch)`` return a scalar loss, or ``(loss, {"name": tensor})`` to log terms.
    ``opt_d`` / ``opt_g``: an optimiser or a list of them (one per player, or one over all). ``discriminators``
    and ``generators``: a module or a list of modules. The idle side is frozen (``requires_grad_(False)``)
    while the other steps, so neither side's step computes or leaves gradients in the other.
    ``after_d_step()`` runs after every discriminator step (for example to clip the critic's weights).
    """
    if len(batches) == 0:
        raise ValueError("adversarial_step: expected at least one batch (k >= 1), got none")
    ds, gs = _modules(discriminators), _modules(generators)
    opts_d, opts_g = _optimizers(opt_d), _optimizers(opt_g)
    logged = {}
    with _frozen(gs):
        for batch in batches:
            loss, terms = _loss_and_terms(d_loss(batch), "d_loss")
            _minimise(loss, opts_d)
            if after_d_step is not None:
                after_d_step()
    logged.update({"d_loss": loss.detach(), **{k: _detached(v) for k, v in terms.items()}})
    with _frozen(ds):
        loss, terms = _loss_and_terms(g_loss(batches[-1]), "g_loss")
        _minimise(loss, opts_g)
    logged.update({"g_loss": loss.detach(), **{k: _detached(v) for k, v in terms.items()}})
    return logged


class _frozen:
    """Within the block, the modules' parameters require no gradient; afterwards each is as it was."""

    def __init__(self, modules):
        self.params = [p for p in chain.from_iterable(m.parameters() for m in modules)]

    def __enter__(self):
        self.was = [p.requires_grad for p in self.params]
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc):
        for p, was in zip(self.params, self.was):
            p.requires_grad_(was)
        return False


def train_adversarial(data: Iterable, d_loss: Callable, g_loss: Callable, opt_d, opt_g, discriminators, generators,
                      steps: int, k: int = 1, after_d_step: Callable | None = None, log_every: int = 25,
                      probe: Callable | None = None, probe_every: int = 0, callback: Callable | None = None,
                      desc: str = "GAN", history: History | None = None) -> History:
    """``steps`` rounds of :func:`adversarial_step`, each with ``k`` batches from the iterator ``data``
    (``course_lib.data.batches`` makes one). Returns a :class:`History` with ``d_loss``, ``g_loss`` and the
    named terms at every step (steps count from 1).

    Values stay on the device and are read back every ``log_every`` steps; a non-finite loss then stops
    training with an error naming its step. ``probe()`` (returning {name: value}) runs under ``no_grad`` every
    ``probe_every`` steps and at step 1, logged at those steps. ``callback(step)`` runs after every step.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}: expected a positive number of discriminator steps per generator step")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps={steps!r}: expected a non-negative number of rounds")
    history = history or History()
    buffer = _Buffer(history, desc, "lower the learning rates, or check the losses for log(0) / exp overflow")
    stream = iter(data)
    bar = progress(range(1, steps + 1), desc=desc)
    for step in bar:
        out = adversarial_step([next(stream) for _ in range(k)], d_loss, g_loss, opt_d, opt_g, discriminators,
                               generators, after_d_step)
        buffer.add(step, out)
        if probe is not None and probe_every and (step % probe_every == 0 or step == 1):
            with torch.no_grad():
                buffer.add(step, probe())
        if step % log_every == 0 or step == steps:
            last = buffer.flush()
            bar.set_postfix_str(_postfix({k_: v for k_, v in last.items() if k_ in ("d_loss", "g_loss")}),
                                refresh=False)
        if callback is not None:
            callback(step)
    bar.close()
    return history


def train_gan(G, D, data, steps: int, opt_g, opt_d, *, d_loss: Callable, g_loss: Callable, batch_size: int = 64,
              k: int = 1, seed: int = 0, probe_every: int = 10, callback: Callable | None = None,
              after_d_step: Callable | None = None, desc: str = "GAN") -> History:
    """``steps`` rounds of k discriminator steps and one generator step of a GAN whose D returns logits, on
    :func:`train_adversarial`. The losses are the caller's: ``d_loss(D, G, x, z)`` and ``g_loss(D, G, z)``.

    ``data`` is a tensor of training examples (batches drawn with replacement) or a sampler ``data(n, generator)``
    (the toy distributions). Batches and codes come from one private RNG seeded with ``seed``. The history has
    ``d_loss`` and ``g_loss`` at every step and, every ``probe_every`` steps, the mean D(x) = sigmoid(logit) on a
    real and a generated batch (``d_real``, ``d_fake``; ``h.steps("d_real")`` gives their steps).
    ``callback(step, G, D)`` runs after each step (steps count from 1); ``after_d_step()`` after every
    discriminator step (WGAN clips its critic's weights there).
    """
    dev = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    stream = batches(data, batch_size, gen, dev)

    def sample_z(n):
        return torch.randn(n, G.z_dim, generator=gen).to(dev)

    def probe():
        real = torch.sigmoid(D(next(stream))).mean()
        return {"d_real": real, "d_fake": torch.sigmoid(D(G(sample_z(batch_size)))).mean()}

    return train_adversarial(
        stream, lambda x: d_loss(D, G, x, sample_z(len(x))), lambda x: g_loss(D, G, sample_z(len(x))), opt_d, opt_g,
        D, G, steps, k=k, after_d_step=after_d_step, probe=probe, probe_every=probe_every, desc=desc,
        callback=None if callback is None else (lambda step: callback(step, G, D)))
