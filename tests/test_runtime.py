import pytest
import torch

from course_lib import runtime


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("CI", "NBGRADER_EXECUTION", "COURSE_BUDGET", "COURSE_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_course_budget_is_the_one_switch_and_nbgrader_always_gets_fast(clean_env):
    clean_env.setenv("COURSE_BUDGET", "full")
    assert runtime.budget().name == "full" and runtime.budget().reason == "COURSE_BUDGET=full"
    clean_env.setenv("CI", "true")  # CI is not a budget switch: .ci/run asks for COURSE_BUDGET=fast itself
    assert runtime.budget().name == "full"
    clean_env.setenv("NBGRADER_EXECUTION", "autograde")
    b = runtime.budget()
    assert b.name == "fast" and "nbgrader" in b.reason, "a grade must never depend on the machine's budget"


def test_env_flag_and_rng(clean_env):
    for value, expected in (("", False), ("0", False), ("false", False), (" No ", False), ("1", True),
                            ("true", True), ("validate", True)):
        clean_env.setenv("CI", value)
        assert runtime.env_flag("CI") is expected, value
    clean_env.delenv("CI")
    assert runtime.env_flag("CI") is False
    state = torch.random.get_rng_state()
    a = torch.randn(4, generator=runtime.rng(3))
    assert torch.equal(a, torch.randn(4, generator=runtime.rng(3)))
    assert torch.equal(state, torch.random.get_rng_state()), "rng() must not touch the global generator"


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


def test_grading_always_runs_on_the_cpu(clean_env):
    clean_env.setenv("COURSE_DEVICE", "meta")
    assert runtime.device() == torch.device("meta")
    clean_env.setenv("NBGRADER_EXECUTION", "autograde")
    assert runtime.device() == torch.device("cpu"), "a grade must not depend on the grader's GPU"


def test_autograding_is_autograde_only(monkeypatch):
    from course_lib import autograding

    for value, expected in (("autograde", True), ("validate", False), ("", False)):
        monkeypatch.setenv("NBGRADER_EXECUTION", value)
        assert autograding() is expected, value
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert autograding() is False
