import pytest
import torch

from course_lib import runtime


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("CI", "NBGRADER_EXECUTION", "COURSE_BUDGET", "COURSE_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_budget_fast_under_ci_and_nbgrader_even_if_full_is_asked(clean_env):
    clean_env.setenv("COURSE_BUDGET", "full")
    assert runtime.budget().name == "full"
    clean_env.setenv("CI", "true")
    assert runtime.budget().name == "fast", "CI must always get the fast budget"
    clean_env.delenv("CI")
    clean_env.setenv("NBGRADER_EXECUTION", "autograde")
    b = runtime.budget()
    assert b.name == "fast" and "nbgrader" in b.reason


def test_budget_default_follows_device(clean_env):
    b = runtime.budget()
    assert b.name == ("full" if torch.cuda.is_available() else "fast")
    clean_env.setenv("COURSE_DEVICE", "cpu")
    assert runtime.budget().name == "fast"


def test_budget_pick_and_bad_value(clean_env):
    clean_env.setenv("COURSE_BUDGET", "fast")
    assert runtime.budget().pick(fast=3, full=30) == 3
    clean_env.setenv("COURSE_BUDGET", "full")
    assert runtime.budget().pick(fast=3, full=30) == 30
    clean_env.setenv("COURSE_BUDGET", "huge")
    with pytest.raises(ValueError, match="fast, full"):
        runtime.budget()


def test_ci_false_is_not_ci(clean_env):
    clean_env.setenv("CI", "false")
    clean_env.setenv("COURSE_BUDGET", "full")
    assert runtime.budget().name == "full"


def test_device_override_and_errors(clean_env):
    clean_env.setenv("COURSE_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")
    clean_env.setenv("COURSE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="not a torch device"):
        runtime.device()
    if not torch.cuda.is_available():
        clean_env.setenv("COURSE_DEVICE", "cuda")
        with pytest.raises(ValueError, match="no CUDA"):
            runtime.device()


def test_device_default_is_available(clean_env):
    dev = runtime.device()
    torch.zeros(1, device=dev)  # must be usable


def test_seed_everything_reproduces():
    g = runtime.seed_everything(7)
    a = torch.randn(3), torch.rand(2, generator=g)
    g = runtime.seed_everything(7)
    b = torch.randn(3), torch.rand(2, generator=g)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
