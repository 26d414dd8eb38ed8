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
            vae.VAE.sample(None, 3)
    assert torch.equal(alias(mu, mu), torch.zeros(2)), "forbid must restore the functions"


def test_forbid_allow_list():
    with forbid(vae, allow=("evaluate_nelbo",)):
        assert vae.evaluate_nelbo.__wrapped__.__code__.co_name == "evaluate_nelbo"
        with pytest.raises(ReferenceUsed):
            vae.reparameterize(torch.zeros(1), torch.zeros(1))


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
