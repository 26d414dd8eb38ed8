"""How long a class takes to grade: N copies of each reference solution, autograded in a scratch copy of the course.

    .venv/bin/python tools/grading_benchmark.py [--students 100] [--jobs N] [ID ...]

Builds a temporary course (this checkout's solutions, releases, course_lib and tools, its .venv linked), submits
the reference solution under N student names for each assignment, runs ``course.py autograde`` as an instructor
would (sandbox, tampering scan, one process per core unless --jobs), and prints the wall time and seconds per
submission of each assignment, and whether every copy earned full marks. Nothing in this checkout changes.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignments", nargs="*")
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--jobs", type=int, default=None)
    a = p.parse_args(argv)
    ids = a.assignments or sorted(d.name for d in (ROOT / "solutions").iterdir() if d.is_dir())
    with tempfile.TemporaryDirectory(prefix="dgm-grading-") as tmp:
        course = Path(tmp) / "course"
        for name in ("solutions", "assignments", "course_lib", "tools"):
            shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("nbgrader_config.py", "course.py", "requirements.txt", "pyproject.toml"):
            shutil.copy(ROOT / name, course / name)
        (course / ".venv").symlink_to(ROOT / ".venv")
        subprocess.run([sys.executable, "course.py", "release", *ids], cwd=course, check=True, capture_output=True)
        rows = []
        for aid in ids:
            for i in range(a.students):
                folder = course / "submitted" / f"student{i:03d}" / aid
                folder.mkdir(parents=True)
                shutil.copy(ROOT / "solutions" / aid / f"{aid}.ipynb", folder / f"{aid}.ipynb")
            jobs = ["--jobs", str(a.jobs)] if a.jobs else []
            t0 = time.time()
            r = subprocess.run([sys.executable, "course.py", "autograde", aid, *jobs], cwd=course, capture_output=True,
                               text=True)
            wall = time.time() - t0
            from nbgrader.api import Gradebook

            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                full = sum(1 for s in gb.assignment_submissions(aid) if s.score == s.max_score)
            at_once = re.search(r"(\d+) at a time", r.stdout)
            rows.append((aid, a.students, at_once.group(1) if at_once else "?", wall, full, r.returncode))
            print(f"{aid}: {a.students} submissions in {wall:.0f} s ({wall / a.students:.1f} s each, "
                  f"{rows[-1][2]} at a time); full marks: {full}/{a.students}; exit code {r.returncode}", flush=True)
            shutil.rmtree(course / "submitted")
            shutil.rmtree(course / "autograded", ignore_errors=True)
        return 0 if all(full == n and rc == 0 for _, n, _, _, full, rc in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
