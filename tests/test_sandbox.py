"""A graded kernel cannot reach the instructor's files: tools/sandboxed_kernel.py, tried the way a hostile
submission would try it (read the solutions, the gradebook, another student's work; write to the course, to
course_lib, or to /tmp for a later submission to find)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "tools" / "sandboxed_kernel.py"


def available(which: str) -> bool:
    env = {**os.environ, "COURSE_SANDBOX": which}
    out = subprocess.run([sys.executable, str(LAUNCHER), "--probe"], capture_output=True, text=True, env=env)
    return out.stdout.strip() == which


MECHANISMS = [pytest.param(m, marks=pytest.mark.skipif(not available(m), reason=f"{m} is not available here"))
              for m in ("bwrap", "unshare")]

ATTACKS = r'''
import os, pathlib, json
def attempt(f):
    try:
        return repr(f())[:80]
    except Exception as e:
        return "BLOCKED " + type(e).__name__
root = pathlib.Path("../../..")
report = {
    "read solutions": attempt(lambda: (root / "solutions" / "answer.txt").read_text()),
    "list solutions": attempt(lambda: os.listdir(root / "solutions")),
    "read gradebook": attempt(lambda: (root / "gradebook.db").read_bytes()),
    "read another student": attempt(lambda: pathlib.Path("../../bob/a1/nb.txt").read_text()),
    "read tests": attempt(lambda: (root / "tests" / "hidden.py").read_text()),
    "write course_lib": attempt(lambda: (root / "course_lib" / "evil.py").write_text("x")),
    "write own folder": attempt(lambda: pathlib.Path("planted.txt").write_text("x")),
    "write /tmp": attempt(lambda: pathlib.Path("/tmp/dgm-sandbox-test-planted").write_text("x")),
    "read own notebook": attempt(lambda: pathlib.Path("a1.ipynb").read_text()),
    "import course_lib": attempt(lambda: __import__("course_lib").__name__),
}
print("REPORT" + json.dumps(report))
'''


def run_in_sandboxed_kernel(course: Path, cwd: Path, code: str, mechanism: str) -> dict:
    from jupyter_client import KernelManager

    spec_dir = course.parent / "kernels" / "dgm-sandbox"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(LAUNCHER), "--root", str(course), "-f", "{connection_file}"],
        "display_name": "sandbox", "language": "python"}))
    os.environ["JUPYTER_PATH"] = str(course.parent)
    os.environ["COURSE_SANDBOX"] = mechanism
    km = KernelManager(kernel_name="dgm-sandbox")
    km.start_kernel(cwd=str(cwd))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        text = []
        for cell in [code] if isinstance(code, str) else code:   # one execute request per cell, as nbgrader does
            reply = kc.execute_interactive(cell, timeout=60, output_hook=lambda m: text.append(
                m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
            assert reply["content"]["status"] == "ok", reply["content"]
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
        os.environ.pop("JUPYTER_PATH", None)
        os.environ.pop("COURSE_SANDBOX", None)
    line = next(t for t in "".join(text).splitlines() if t.startswith("REPORT"))
    return json.loads(line[len("REPORT"):])


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_graded_kernel_cannot_read_or_write_the_instructors_files(tmp_path, mechanism):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "solutions" / "answer.txt").write_text("the reference answer")
    (course / "tests").mkdir()
    (course / "tests" / "hidden.py").write_text("assert hidden")
    (course / "gradebook.db").write_text("grades")
    (course / "course_lib").mkdir()
    alice = course / "autograded" / "alice" / "a1"
    bob = course / "autograded" / "bob" / "a1"
    alice.mkdir(parents=True)
    bob.mkdir(parents=True)
    (bob / "nb.txt").write_text("bob's answers")
    (alice / "a1.ipynb").write_text("{}")
    Path("/tmp/dgm-sandbox-test-planted").unlink(missing_ok=True)

    report = run_in_sandboxed_kernel(course, alice, ATTACKS, mechanism)

    for attack in ("read solutions", "read gradebook", "read another student", "read tests", "write course_lib",
                   "write own folder"):
        assert report[attack].startswith("BLOCKED") or report[attack] in ("[]", "''", "b''"), \
            f"{attack}: expected the sandbox to block it, got {report[attack]}"
    assert report["list solutions"] == "[]", report["list solutions"]
    assert not (course / "course_lib" / "evil.py").exists() and not (alice / "planted.txt").exists()
    assert not Path("/tmp/dgm-sandbox-test-planted").exists(), "a file written to /tmp outlived the kernel"
    assert report["read own notebook"] == "'{}'" and report["import course_lib"] == "'course_lib'", report
    assert (course / "solutions" / "answer.txt").read_text() == "the reference answer"


def test_no_sandbox_means_a_refusal_not_a_silent_fallback(tmp_path):
    env = {**os.environ, "COURSE_SANDBOX": "off"}
    probe = subprocess.run([sys.executable, str(LAUNCHER), "--probe"], capture_output=True, text=True, env=env)
    assert probe.stdout.strip() == "none"
    r = subprocess.run([sys.executable, str(LAUNCHER), "--root", str(tmp_path), "-f", str(tmp_path / "k.json")],
                       capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "refusing to start a graded kernel" in r.stderr


# A rebinding the tampering scan cannot see (through an alias) in one cell, then what a test cell would find.
GUARD_CELLS = [
    "import torch\nimport course_lib.grading\nt, g = torch, course_lib.grading\n"
    "t.allclose = lambda *args, **kwargs: True\ng.check_close = lambda *args, **kwargs: None",
    """import json, torch
from course_lib.grading import TamperingError, check_close, quiet
report = {"allclose restored": torch.allclose(torch.zeros(1), torch.ones(1)) is False,
          "check_close restored": check_close.__module__ == "course_lib.grading"}
try:
    with quiet():
        t = torch
        t.isclose = lambda *args, **kwargs: True
    report["tampering during a test"] = "not caught"
except TamperingError as e:
    report["tampering during a test"] = str(e)
report["isclose restored"] = torch.isclose(torch.zeros(1), torch.ones(1)).item() is False
with quiet():
    pass
report["clean test passes"] = True
print("REPORT" + json.dumps(report))
""",
]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_graded_kernel_puts_back_what_tests_rely_on(tmp_path, mechanism):
    course = tmp_path / "course"
    cwd = course / "autograded" / "alice" / "a1"
    cwd.mkdir(parents=True)
    report = run_in_sandboxed_kernel(course, cwd, GUARD_CELLS, mechanism)
    assert report["allclose restored"] and report["check_close restored"] and report["isclose restored"], report
    assert "replaced what the grader relies on: torch.isclose" in report["tampering during a test"], report
    assert report["clean test passes"], report
