import pytest
import torch

import course_lib.vae as vae
from course_lib.grading import ReferenceUsed, check_close, forbid, isolate


def test_forbid_catches_aliases_and_restores():
    alias = vae.gaussian_kl
    mu = torch.zeros(2, 3)
    with forbid(vae):
        with pytest.raises(ReferenceUsed, match="course_lib.vae.gaussian_kl .*implement it yourself"):
            alias(mu, mu)
        with pytest.raises(ReferenceUsed):
            vae.iwae_bound(None, None, None, 3)
    assert torch.equal(alias(mu, mu), torch.zeros(2)), "forbid must restore the functions"


def test_forbid_allow_list_and_single_functions():
    import course_lib
    from course_lib import train

    with forbid(vae, allow=("gaussian_kl",)):
        assert vae.gaussian_kl.__code__.co_name == "gaussian_kl"
        with pytest.raises(ReferenceUsed):
            vae.reparameterize(torch.zeros(1), torch.zeros(1))
    with forbid(vae, course_lib.fit):
        with pytest.raises(ReferenceUsed, match="course_lib.train.fit"):
            train.fit(None, None, [], 1)
        assert course_lib.History() is not None and train.progress is course_lib.progress
    assert train.fit.__code__.co_name == "fit"
    with pytest.raises(TypeError, match="modules or functions"):
        with forbid("course_lib.vae"):
            pass


def test_check_close_messages():
    check_close("x", torch.ones(3), torch.ones(3))
    with pytest.raises(AssertionError, match=r"expected shape \(3,\), got \(2,\)"):
        check_close("x", torch.ones(2), torch.ones(3))
    with pytest.raises(AssertionError, match=r"expected \[1.0, 1.0\], got \[2.0, 1.0\].*hint"):
        check_close("x", torch.tensor([2.0, 1.0]), torch.ones(2), hint="hint")
    with pytest.raises(AssertionError, match="NaN or inf"):
        check_close("x", torch.tensor([float("nan")]), torch.ones(1))


def test_isolate_binds_copies_that_survive_forbid():
    ns = {"gaussian_kl": lambda mu, logvar: -1}
    with isolate(ns, vae, ["gaussian_kl", "bernoulli_nll"]), forbid(vae):
        assert torch.equal(ns["gaussian_kl"](torch.zeros(1, 2), torch.zeros(1, 2)), torch.zeros(1))
        assert ns["bernoulli_nll"](torch.ones(1, 3), torch.zeros(1, 3)).shape == (1,)
        with pytest.raises(ReferenceUsed):
            vae.gaussian_kl(torch.zeros(1, 2), torch.zeros(1, 2))
    assert ns["gaussian_kl"](0, 0) == -1 and "bernoulli_nll" not in ns


def test_isolated_functions_call_isolated_helpers():
    """negative_elbo's copy must use copies of reparameterize, gaussian_kl and its default bernoulli_nll."""
    ns = {}
    enc = lambda x: (torch.zeros(x.shape[0], 2), torch.zeros(x.shape[0], 2))  # noqa: E731
    dec = lambda z: torch.zeros(z.shape[0], 4)  # noqa: E731
    with isolate(ns, vae, ["negative_elbo"]), forbid(vae):
        nelbo, rec, kl = ns["negative_elbo"](torch.ones(3, 4), enc, dec)
    assert abs(rec.item() - 4 * 0.6931) < 1e-3 and kl.item() == 0


FAMILIES = {"vae", "non_adversarial", "gan", "wasserstein", "evaluation", "translation", "lapgan"}  # one module per model family: reference answers only, what grading switches off


def test_tools_never_import_a_model_family_module():
    """Switching a family module off must never break a tool, so no tool depends on one."""
    import ast
    from pathlib import Path

    import course_lib

    root = Path(course_lib.__file__).parent
    for path in sorted(root.glob("*.py")):
        if path.stem in FAMILIES or path.stem == "grading":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names if node.level]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            bad = [n for n in names if n.split(".")[-1] in FAMILIES]
            assert not bad, f"course_lib/{path.name} (a tool) imports {bad}: tools must work while grading " \
                            "switches the family modules off"


def test_a_students_train_vae_may_call_the_model_under_grading():
    """Assignment 1's training test switches off course_lib.vae and course_lib.fit; the VAE class, loader,
    progress bars and History are tools the student may use. A loop written with model(x) must work there."""
    import math

    import torch.nn.functional as F

    import course_lib
    from course_lib import VAE, dynamic_binarize, progress

    def train_vae(model, train_x, epochs, batch_size=64, lr=1e-3, seed=0):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in progress(range(epochs), desc="train_vae"):
            for (xb,) in course_lib.loader(train_x, batch_size=batch_size, seed=seed):
                xb = dynamic_binarize(xb)
                logits, mu, logvar = model(xb)
                rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="none").flatten(1).sum(1)
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
                loss = (rec + kl).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return losses

    torch.manual_seed(0)
    model = VAE(z_dim=4, kind="mlp", hidden=(32,))
    with forbid(vae, course_lib.fit):
        losses = train_vae(model, torch.rand(64, 1, 28, 28), epochs=2)
        with pytest.raises(ReferenceUsed):
            course_lib.fit(lambda b: model(b[0])[0].sum(), torch.optim.SGD(model.parameters(), lr=0.1), [], 1)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert course_lib.evaluate_nelbo(model, torch.bernoulli(torch.rand(8, 1, 28, 28))) > 0


def test_quiet_keeps_warnings_and_stderr_out_of_a_graded_cell(capsys):
    import sys
    import warnings

    from course_lib.grading import quiet
    from tqdm import tqdm

    with quiet() as written:
        warnings.warn("a warning the test's own inputs caused")
        for _ in tqdm(range(3)):     # a plain progress bar writes to stderr
            pass
        print("to stderr", file=sys.stderr)
    out = capsys.readouterr()
    assert out.err == "" and "to stderr" in written[0]


def test_kernel_guard_restores_rebound_callables_and_fails_a_tampered_test():
    """guard_kernel() (run in every sandboxed graded kernel before any cell): what a test relies on is put back,
    and a test during which it was replaced fails. Here without IPython: the snapshot and the checks alone."""
    import course_lib.grading as g

    saved = list(g._GUARD)
    g._GUARD[:] = g._snapshot()
    original = torch.allclose
    try:
        t = torch
        t.allclose = lambda *args, **kwargs: True
        assert g._restore() == ["torch.allclose"] and torch.allclose is original
        with pytest.raises(g.TamperingError, match="torch.isclose"):
            with g.quiet():
                t.isclose = lambda *args, **kwargs: True
        assert torch.isclose(torch.zeros(1), torch.ones(1)).item() is False
        code = g.check_close.__code__
        g.check_close.__code__ = (lambda *args, **kwargs: None).__code__
        assert g._restore() == ["course_lib.grading.check_close"] and g.check_close.__code__ is code
        with g.quiet():
            pass  # no false alarm when nothing changed
    finally:
        torch.allclose = original
        g._GUARD[:] = saved


def test_kernel_guard_takes_no_library_for_tampering():
    """What a notebook may import after the guard's snapshot must not look like tampering: a library that rebinds
    a guarded callable on import (torch._dynamo wraps torch.manual_seed) would cost a correct answer its points.
    Run in a fresh interpreter, so that nothing is imported before the snapshot except what a kernel has."""
    import subprocess
    import sys

    code = ("import torch, course_lib.grading as g\n"
            "g._GUARD[:] = g._snapshot()\n"
            "import torch._dynamo, torch.distributions, torch.nn.utils.parametrizations, torch.func, scipy.linalg\n"
            "import scipy.special, matplotlib.pyplot, pandas, tqdm.auto, ipywidgets, nbformat\n"
            "import course_lib, course_lib.vae, course_lib.gan, course_lib.evaluation\n"
            "torch.manual_seed(0); torch.randn(2).allclose(torch.zeros(2))\n"
            "print('REPLACED', g._restore())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "REPLACED []" in r.stdout, r.stdout
