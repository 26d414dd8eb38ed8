"""course.py as a user meets it: setup is idempotent, lab serves the course, mistakes get clear messages."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def course(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "course.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, **kwargs)


def test_second_setup_is_a_fast_no_op():
    t0 = time.time()
    r = course("setup")
    assert r.returncode == 0 and "up to date" in r.stdout, r.stdout + r.stderr
    assert time.time() - t0 < 10, "a second setup should not reinstall anything"


def test_unknown_command_prints_usage():
    r = course("frobnicate")
    assert r.returncode == 2 and "python3 course.py lab" in r.stdout


def test_autograde_without_submissions_says_what_to_do(tmp_path):
    if (ROOT / "submitted").exists():
        return  # an instructor's real submissions are there; do not touch them
    r = course("autograde")
    assert r.returncode != 0 and "submitted/<student>/<assignment>/" in (r.stdout + r.stderr)


def test_autograde_before_release_says_what_to_do(tmp_path):
    import shutil

    for file in ("course.py", "requirements.txt", "pyproject.toml", "nbgrader_config.py"):
        shutil.copy(ROOT / file, tmp_path / file)
    (tmp_path / "solutions" / "a1_vae").mkdir(parents=True)
    (tmp_path / "submitted" / "someone" / "a1_vae").mkdir(parents=True)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    r = subprocess.run([sys.executable, "course.py", "autograde", "a1_vae"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "course.py release a1_vae" in (r.stdout + r.stderr), r.stdout + r.stderr


def test_release_of_unknown_assignment_is_refused():
    r = course("release", "a99_nothing")
    assert r.returncode != 0 and "no assignment 'a99_nothing'" in (r.stdout + r.stderr)


def test_lab_serves_the_course():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "course-test"
    proc = subprocess.Popen([sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 90
        listing = None
        while time.time() < deadline and listing is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/lectures?token={token}"
                listing = json.load(urllib.request.urlopen(url, timeout=2))
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer within 90 s"
        names = {item["name"] for item in listing["content"]}
        assert "01_autoencoders.ipynb" in names, names
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_execute_full_writes_a_copy_in_the_full_budget(tmp_path):
    import nbformat

    src = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny\n## 1. Where it runs"),
                nbformat.v4.new_code_cell("import os, course_lib\nprint(course_lib.budget())\nprint(os.getcwd())")]
    nbformat.write(nb, src)
    before = src.read_bytes()
    out = tmp_path / "out"
    r = course("execute", "--full", "--out", str(out), str(src), timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    copy = out / "tiny.ipynb"
    assert copy.is_file(), f"no executed copy in {out}:\n{r.stdout}"
    printed = "".join(o.get("text", "") for o in nbformat.read(copy, as_version=4).cells[1].outputs)
    assert "budget: full" in printed, printed
    assert str(tmp_path) in printed, f"the notebook should run in its own folder, printed:\n{printed}"
    assert src.read_bytes() == before, "execute --full must never change the notebook it runs"
    times = json.loads((out / "times.json").read_text())
    assert [(t["notebook"], t["ok"]) for t in times["notebooks"]] == [(str(src), True)], times
    cells = times["notebooks"][0]["slowest_cells"]
    found = [(c["cell"], c["section"], c["source"]) for c in cells]
    assert found == [(2, "1. Where it runs", "import os, course_lib")], cells
    assert 0 <= cells[0]["seconds"] <= times["notebooks"][0]["seconds"], cells
    assert "tiny.ipynb" in r.stdout and " ok" in r.stdout and "slowest: cell 2 " in r.stdout, r.stdout


def test_execute_full_reports_a_failing_notebook_and_carries_on(tmp_path):
    import nbformat

    bad, good = tmp_path / "bad.ipynb", tmp_path / "good.ipynb"
    for path, code in ((bad, "raise ValueError('broken on purpose')"), (good, "print('fine')")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, path)
    out = tmp_path / "out"
    r = course("execute", "--full", "--out", str(out), str(bad), str(good), timeout=120)
    assert r.returncode != 0, r.stdout
    assert "FAILED" in r.stdout and "ValueError: broken on purpose" in r.stdout, r.stdout
    assert (out / "bad.ipynb").is_file() and (out / "good.ipynb").is_file(), r.stdout
    rows = {t["notebook"]: t for t in json.loads((out / "times.json").read_text())["notebooks"]}
    assert rows[str(good)]["ok"] and not rows[str(bad)]["ok"], rows


def test_execute_refuses_unknown_options_and_missing_notebooks():
    r = course("execute", "--fulll")
    assert r.returncode != 0 and "--fulll" in r.stdout + r.stderr
    r = course("execute", "--out", "x")  # --out only makes sense with --full: plain execute writes in place
    assert r.returncode != 0 and "--full" in r.stdout + r.stderr
    r = course("execute", "--full", "lectures/no_such.ipynb")
    assert r.returncode != 0 and "no such notebook" in r.stdout + r.stderr


def test_here_uses_the_current_interpreter_and_skips_setup():
    # The base interpreter of the venv (not .venv/bin/python) runs course.py: --here must use it, not .venv.
    python = getattr(sys, "_base_executable", None) or sys.executable
    stamp = ROOT / ".venv" / ".course-stamp"
    before = stamp.stat().st_mtime if stamp.exists() else None
    r = subprocess.run([python, str(ROOT / "course.py"), "setup", "--here"], cwd=ROOT, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"using this Python, {python}," in r.stdout and "setup skipped" in r.stdout, r.stdout
    assert "up to date" not in r.stdout and "installing" not in r.stdout, r.stdout
    assert (stamp.stat().st_mtime if stamp.exists() else None) == before, "--here must not touch .venv"


def test_here_runs_the_command_with_sys_executable(tmp_path):
    # A cheap real command (not `test`: that would run this suite again): execute --full --here on a notebook
    # that reports the kernel's interpreter, PATH and course_lib. The kernel is started by the tool that
    # course.py runs, so it is sys.executable only if course.py ran the tool with it.
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os, sys, course_lib\n"
        "print('PYTHON=' + sys.executable)\n"
        "print('PATH=' + os.environ['PATH'])\n"
        "print('COURSE_LIB=' + course_lib.__file__)")]
    nbformat.write(nb, tmp_path / "which.ipynb")
    out = tmp_path / "out"
    r = course("execute", "--full", "--here", "--out", str(out), str(tmp_path / "which.ipynb"), timeout=120)
    assert r.returncode == 0 and "--here" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    printed = "".join(o.get("text", "") for o in nbformat.read(out / "which.ipynb", as_version=4).cells[0].outputs)
    assert f"PYTHON={sys.executable}\n" in printed, printed
    assert f"PATH={os.environ['PATH']}\n" in printed, "--here must keep the current PATH unchanged"
    assert f"COURSE_LIB={ROOT / 'course_lib' / '__init__.py'}" in printed, printed


def test_cores_honours_course_cores(monkeypatch):
    """COURSE_CORES caps course.py's own parallel work (`course.py test` sets 1 for what each worker starts);
    anything but a positive whole number leaves it at the cores this process may use."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_cli", ROOT / "course.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    monkeypatch.delenv("COURSE_CORES", raising=False)
    every = cli.cores()
    assert every >= 1
    for value, expected in (("1", 1), ("3", 3), ("0", every), ("two", every), ("", every)):
        monkeypatch.setenv("COURSE_CORES", value)
        assert cli.cores() == expected, f"COURSE_CORES={value!r}: expected {expected}, got {cli.cores()}"
