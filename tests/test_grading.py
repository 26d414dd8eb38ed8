import pytest
import torch

import course_lib.vae as vae
from course_lib.grading import ReferenceUsed, check_close, forbid


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
