"""A class on one multi-user server: nbgrader's exchange, with two simulated students on a local exchange folder.

This is what the Assignments tab (students) and the formgrader (instructor) of a JupyterHub do, as commands:
the instructor releases, each student fetches, works and submits, the instructor collects, autogrades (in the
sandbox, several at once), writes and releases feedback and exports the grades, and each student fetches their
feedback. nbgrader names a submission after the user who submits it (the OS account, or $JUPYTERHUB_USER in the
hub's containers); here two users are simulated with two home folders and nbgrader's own override, --student.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
A = "a5_evaluation"   # the quickest assignment to grade: the flow is the same for every one
pytestmark = pytest.mark.timeout(900)


def run(cmd, cwd, user, exchange, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "PYTHONPATH")}
    env.update(USER=user, LOGNAME=user, JUPYTERHUB_USER=user, HOME=str(cwd if user != "instructor" else env.get("HOME", cwd)),
               COURSE_EXCHANGE=str(exchange))
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert r.returncode == 0, f"{' '.join(map(str, cmd))} as {user}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def nbgrader(*args):
    return [sys.executable, "-m", "nbgrader", *args]


def completed(release: Path) -> dict:
    """The release with every answer cell taken from the reference solution."""
    solution = json.loads((ROOT / "solutions" / A / f"{A}.ipynb").read_text())
    answers = {c["id"]: "".join(c["source"]) for c in solution["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = json.loads(release.read_text())
    for c in nb["cells"]:
        if c["id"] in answers:
            c["source"] = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", answers[c["id"]]).splitlines(keepends=True)
    return nb


def test_release_fetch_submit_collect_autograde_feedback_export(tmp_path):
    course = tmp_path / "course"
    for name in ("solutions", "assignments", "course_lib", "tools"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("nbgrader_config.py", "course.py", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, course / name)
    (course / ".venv").symlink_to(ROOT / ".venv")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    homes = {s: tmp_path / "home" / s for s in ("alice", "bob")}
    for h in homes.values():
        h.mkdir(parents=True)

    # The instructor puts the release in the exchange (the course id and exchange come from nbgrader_config.py).
    run([sys.executable, "course.py", "release", A], course, "instructor", exchange)
    run(nbgrader("release_assignment", A, "--force"), course, "instructor", exchange)
    listed = run(nbgrader("list", "--course", "dgm", f"--Exchange.root={exchange}"), homes["alice"], "alice", exchange)
    assert A in listed.stdout + listed.stderr

    # Each student fetches it into their home, works, and submits: alice completes it, bob hands it in blank.
    for student, home in homes.items():
        run(nbgrader("fetch_assignment", A, "--course", "dgm", f"--Exchange.root={exchange}"), home, student, exchange)
        nb_path = home / A / f"{A}.ipynb"
        assert nb_path.is_file(), f"{student} has no {nb_path}"
        if student == "alice":
            nb_path.write_text(json.dumps(completed(nb_path), indent=1))
        run(nbgrader("submit", A, "--course", "dgm", f"--student={student}", f"--Exchange.root={exchange}"), home,
            student, exchange)

    # The instructor collects, autogrades (sandboxed, two at a time), and releases feedback and grades.
    run(nbgrader("collect", A), course, "instructor", exchange)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]
    r = run([sys.executable, "course.py", "autograde", A, "--jobs", "2"], course, "instructor", exchange)
    assert "2 parallel nbgrader processes" in r.stdout, r.stdout[-2000:]
    run([sys.executable, "course.py", "feedback", A], course, "instructor", exchange)
    run(nbgrader("release_feedback", A), course, "instructor", exchange)
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == A}
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) == 10.0, rows["alice"]
    assert float(rows["bob"]["score"]) == 0.0, rows["bob"]

    # Each student fetches their own feedback, and only theirs.
    for student, home in homes.items():
        run(nbgrader("fetch_feedback", A, "--course", "dgm", f"--student={student}", f"--Exchange.root={exchange}"),
            home, student, exchange)
        html = list((home / A / "feedback").rglob("*.html"))
        assert len(html) == 1, f"{student}: feedback files {html}"
        text = html[0].read_text()
        assert ("10.0 / 10.0" in text) == (student == "alice"), f"{student}'s feedback shows the wrong score"
