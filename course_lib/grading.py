"""Helpers for the autograded tests: clear failure messages, and switching course_lib's own answers off.

``forbid(module_or_function, ...)`` replaces the body of every function and method defined in those modules
(and of every function named on its own) by one that raises, for the duration of a ``with`` block. Any
student code that delegates to the library's reference (by import, alias or copy of the function object)
then fails with a message saying so.

What is switched off is a model family's module (``course_lib.vae``, ``course_lib.gan``, ...), which holds only
reference answers, plus, in a test of a part that a tool would answer (``course_lib.fit`` for "write the
training loop", ``course_lib.train.adversarial_step`` for "write the alternating step"), that one tool, or a
library function that answers the part outright (``scipy.stats.wasserstein_distance`` for "write the 1-D W1").
Tools an assignment tells students to use are never switched off.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import types
import warnings

import numpy as np
import torch


class ReferenceUsed(AssertionError):
    pass


@contextlib.contextmanager
def quiet():
    """Inside the block, warnings are ignored and Python-level writes to stderr (a plain tqdm bar, a print to
    sys.stderr) are kept: nbgrader scores a test cell that writes to stderr as 0, and a correct answer must not
    lose its points because the test's own inputs made it warn. What was written is returned, as a list with one
    string, after the block."""
    written = []
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stderr(buffer):
            try:
                yield written
            except Exception as exc:
                replaced = _restore()   # leave the next cell a clean library
                if replaced and not isinstance(exc, TamperingError):
                    raise TamperingError(_tampered(replaced)) from exc   # the cause, not its symptom
                raise
            finally:
                written.append(buffer.getvalue())
    replaced = _restore()
    if replaced:
        raise TamperingError(_tampered(replaced))


def _tampered(replaced: list[str]) -> str:
    return (f"while this test ran, the submission replaced what the grader relies on: {', '.join(replaced[:6])}"
            f"{' ...' if len(replaced) > 6 else ''} (restored; this part scores 0)")


# ---------------------------------------------------------------- the kernel guard (autograde)

class TamperingError(AssertionError):
    """A graded test found that the library functions it relies on were replaced while it ran."""


# What graded tests compare and evaluate with: the callables of these modules and of the classes course_lib
# defines. Family modules are left out: forbid() switches them off inside a test on purpose.
GUARDED_MODULES = ("math", "numpy", "numpy.testing", "torch", "torch.testing", "torch.nn.functional",
                   "course_lib", "course_lib.runtime", "course_lib.data", "course_lib.nets", "course_lib.models",
                   "course_lib.train", "course_lib.metrics", "course_lib.toy", "course_lib.plot", "course_lib.grading")
# The builtins that asserts use (ipykernel itself rebinds input() during every cell, so not all of them).
GUARDED_BUILTINS = ("abs", "all", "any", "bool", "callable", "dict", "enumerate", "float", "getattr", "hasattr", "int",
                    "isinstance", "issubclass", "len", "list", "max", "min", "range", "repr", "round", "set", "sorted",
                    "str", "sum", "tuple", "type", "zip")
# Modules that rebind guarded callables when they are first imported (torch._dynamo wraps torch.manual_seed):
# imported before the snapshot, so that a notebook importing them later is not taken for tampering.
LIBRARY_PATCHERS = ("torch._dynamo",)
_GUARD: list = []


def _snapshot() -> list:
    import builtins
    import importlib

    def entry(owner, name, value):
        fn = value if isinstance(value, types.FunctionType) else None
        return owner, name, value, fn and fn.__code__, fn and fn.__defaults__, fn and fn.__kwdefaults__

    for name in LIBRARY_PATCHERS:   # import first what rebinds library functions itself, so that is the baseline
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    entries = [entry(builtins, name, vars(builtins)[name]) for name in GUARDED_BUILTINS]
    classes = [torch.Tensor]
    for module_name in GUARDED_MODULES:
        module = importlib.import_module(module_name)
        for name, value in list(vars(module).items()):
            if name.startswith("_") or isinstance(value, types.ModuleType) or not callable(value):
                continue
            entries.append(entry(module, name, value))
            if isinstance(value, type) and (value.__module__ or "").startswith("course_lib") and value not in classes:
                classes.append(value)
    for cls in classes:
        entries += [entry(cls, name, value) for name, value in list(vars(cls).items())
                    if callable(value) and not isinstance(value, type)]
        # a new attribute on a class can shadow an inherited method (torch.Tensor.allclose lives on TensorBase)
        entries.append((cls, None, frozenset(vars(cls)), None, None, None))
    return entries


def _restore() -> list[str]:
    """Put back every guarded callable that was rebound or whose code was replaced; return their names."""
    replaced = []
    for owner, name, value, code, defaults, kwdefaults in _GUARD:
        if name is None:
            for extra in set(vars(owner)) - value:
                if callable(vars(owner)[extra]):
                    delattr(owner, extra)
                    replaced.append(f"{owner.__name__}.{extra}")
            continue
        where = f"{getattr(owner, '__name__', owner)}.{name}"
        if vars(owner).get(name, _MISSING) is not value:
            try:
                setattr(owner, name, value)
            except (AttributeError, TypeError):
                continue
            replaced.append(where)
        if code is not None and (value.__code__ is not code or value.__defaults__ is not defaults
                                 or value.__kwdefaults__ is not kwdefaults):
            value.__code__, value.__defaults__, value.__kwdefaults__ = code, defaults, kwdefaults
            replaced.append(where)
    return replaced


def guard_kernel() -> None:
    """Run at the start of a graded kernel, before any cell (tools/sandboxed_kernel.py does this): remember the
    callables graded tests rely on, put them back before every cell, and make ``quiet()`` fail a test during which
    they were replaced. So a rebinding the tampering scan cannot see (``t = torch; t.allclose = ...``) has no
    effect on a test cell, and costs the part whose test it ran in."""
    if _GUARD:
        return
    _GUARD.extend(_snapshot())
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", lambda *_: _restore())


def _functions(module: types.ModuleType):
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue  # private helpers are plumbing, not answers
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield f"{module.__name__}.{name}", inspect.unwrap(obj)  # through decorators such as no_grad
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            for attr, member in vars(obj).items():
                if inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attr}", inspect.unwrap(member)


def _targets(targets):
    for target in targets:
        if isinstance(target, types.ModuleType):
            yield from _functions(target)
        elif inspect.isfunction(inspect.unwrap(target)):
            fn = inspect.unwrap(target)
            yield f"{fn.__module__}.{fn.__qualname__}", fn
        else:
            raise TypeError(f"forbid: expected modules or functions, got {target!r}")


@contextlib.contextmanager
def forbid(*targets, allow=()):
    """Make every function in the given modules, and every function given, raise ``ReferenceUsed`` inside the
    block (names in ``allow`` stay usable). Works on the function objects themselves, so aliases are caught too."""
    saved = []
    try:
        for qualname, fn in _targets(targets):
            # Functions with closures (e.g. methods calling super()) cannot take a closure-free body.
            if qualname.rsplit(".", 1)[-1] in allow or qualname in allow or fn.__code__.co_freevars:
                continue
            saved.append((fn, fn.__code__))
            fn.__code__ = _blocked_code(qualname)
        yield
    finally:
        for fn, code in reversed(saved):
            fn.__code__ = code


@contextlib.contextmanager
def isolate(namespace: dict, module: types.ModuleType, names):
    """Inside the block, ``namespace[name]`` is a private copy of ``module.name`` for each name.

    A test of one part binds the other parts' names in the notebook to the course's versions, so that a
    mistake in one part costs that part only. Copies are taken on entry, so enter ``isolate`` before
    ``forbid``: ``with isolate(globals(), course_lib.vae, [...]), forbid(course_lib.vae): ...``
    In the student copy the family module is a stub (``REFERENCE_WITHHELD``) and the notebook's own names stay.
    """
    if getattr(module, "REFERENCE_WITHHELD", False):
        # The student copy: the course's versions are not there, so the notebook's own stay in place.
        yield
        return
    shadow = _shadow(module)
    saved = {name: namespace.get(name, _MISSING) for name in names}
    try:
        for name in names:
            namespace[name] = shadow[name]
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _shadow(module: types.ModuleType) -> dict:
    """A private copy of a module's namespace in which every plain function is re-created from its code,
    calls its fellow copies, and uses copies as defaults: untouched by a later ``forbid``."""
    ns = dict(vars(module))
    originals = {name: fn for name, fn in vars(module).items()
                 if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not fn.__closure__}
    copies = {}
    for name, fn in originals.items():
        copies[name] = types.FunctionType(fn.__code__, ns, fn.__name__, None, None)
    by_id = {id(fn): copies[name] for name, fn in originals.items()}
    for name, fn in originals.items():
        c = copies[name]
        c.__defaults__ = tuple(by_id.get(id(d), d) for d in fn.__defaults__) if fn.__defaults__ else None
        c.__kwdefaults__ = ({k: by_id.get(id(d), d) for k, d in fn.__kwdefaults__.items()}
                            if fn.__kwdefaults__ else None)
        c.__doc__ = fn.__doc__
    ns.update(copies)
    return ns


_MISSING = object()


def _blocked_code(qualname: str) -> types.CodeType:
    if qualname.startswith("course_lib."):
        why = (f"{qualname} from course_lib was called while grading your code. This part asks you to implement it "
               "yourself, without course_lib's version.")
    else:   # a library function that would answer the part (scipy.stats.wasserstein_distance for a W1)
        why = (f"{qualname} was called while grading your code. This part asks you to implement it yourself, "
               "without calling it.")
    src = (f"def blocked(*args, **kwargs):\n"
           f"    raise __import__('course_lib.grading', fromlist=['x']).ReferenceUsed({why!r})\n")
    ns: dict = {}
    exec(compile(src, f"<blocked {qualname}>", "exec"), ns)
    return ns["blocked"].__code__


def check_close(name: str, got, expected, rtol: float = 1e-5, atol: float = 1e-6, hint: str = ""):
    """Assert two tensors agree, saying what was expected and what was found."""
    got_t = torch.as_tensor(got).detach().double().cpu()
    exp_t = torch.as_tensor(expected).detach().double().cpu()
    if got_t.shape != exp_t.shape:
        raise AssertionError(f"{name}: expected shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}. {hint}".strip())
    if not torch.isfinite(got_t).all():
        raise AssertionError(f"{name}: your result contains NaN or inf ({got_t.flatten()[:4].tolist()} ...). {hint}".strip())
    if not torch.allclose(got_t, exp_t, rtol=rtol, atol=atol):
        err = (got_t - exp_t).abs().max().item()
        show = lambda t: [round(v, 4) for v in t.flatten()[:4].tolist()]  # noqa: E731
        raise AssertionError(f"{name}: expected {show(exp_t)}{' ...' if exp_t.numel() > 4 else ''}, got "
                             f"{show(got_t)}{' ...' if got_t.numel() > 4 else ''} (max abs error {err:.3g}, "
                             f"tolerance rtol={rtol:g}, atol={atol:g}). {hint}".strip())


# ---------------------------------------------------------------- stand-in GAN players for wiring tests

class ConstantGenerator(torch.nn.Module):
    """A generator with one parameter w (= 1) that maps every code to w * value: output shape (N, dim).

    Its output is known exactly, and a gradient that reaches the generator shows up in ``w.grad``."""

    def __init__(self, value, dim: int = 1, z_dim: int = 3):
        super().__init__()
        self.value, self.dim, self.z_dim = float(value), dim, z_dim
        self.w = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, z):
        return self.w * torch.full((z.shape[0], self.dim), self.value)


class IdentityDiscriminator(torch.nn.Module):
    """A discriminator whose logit is s * x[:, 0], with one parameter s (= 1): output shape (N,)."""

    def __init__(self):
        super().__init__()
        self.s = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return self.s * x[:, 0]


def spy_criterion(logits, target):
    """sum(logits * (target + 2)): 3 x the logits' sum for target 1, 2 x for target 0, so the value tells
    which target each term got."""
    return (logits * (target + 2)).sum()


# ---------------------------------------------------------------- stand-in encoders and decoders (VAE wiring)

class FixedEncoder:
    """A stand-in encoder: the same (mu, logvar) for every input, whatever the input is."""

    def __init__(self, mu, logvar):
        self.mu, self.logvar = mu, logvar

    def __call__(self, x):
        n = x.shape[0]
        return self.mu.expand(n, -1), self.logvar.expand(n, -1)


class ZeroLogitDecoder:
    """A stand-in decoder that records the codes it was given and predicts p = 1/2 for every pixel."""

    def __init__(self):
        self.seen = []

    def __call__(self, z):
        self.seen.append(z)
        return torch.zeros(z.shape[0], 1, 28, 28) + 0 * z.sum()


def as_float(name: str, value) -> float:
    """``value`` (a number, a one-element tensor or array) as a Python float, or an AssertionError saying why
    it is not one real number."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.size != 1:
        raise AssertionError(f"{name}: expected a single number, got an array of shape {arr.shape}")
    if np.iscomplexobj(arr):
        raise AssertionError(f"{name}: expected a real number, got the complex number {arr.item()}; "
                             "take the real part (.real) where round-off leaves tiny imaginary parts")
    try:
        return float(arr.item())
    except (TypeError, ValueError):
        raise AssertionError(f"{name}: expected a number, got {type(value).__name__}") from None
