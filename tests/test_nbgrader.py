"""The nbgrader round trip, run in a temporary copy of the course with the README's instructor commands.

1. `course.py release` regenerates assignments/ from solutions/ and reproduces the committed releases.
2. `course.py autograde` grades a set of submissions: the reference solution earns full marks, the
   unmodified release earns zero, and realistic mistakes lose exactly the parts they break, with
   feedback that names the mistake. A corrupt notebook does not stop the others from being graded.
3. `course.py feedback` writes feedback HTML and grades.csv.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from submissions import HOSTILE, WITHHELD, WRONG

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())

pytestmark = pytest.mark.timeout(3600)   # the batch autograde of every submission (six assignments) runs inside the first test


def course(root: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    return subprocess.run([sys.executable, str(root / "course.py"), *args], cwd=root, env=env,
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    for name in ("solutions", "assignments", "course_lib", "tools"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in ("nbgrader_config.py", "course.py", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    (root / ".venv").symlink_to(ROOT / ".venv")  # the environment is already built: setup() sees it is current
    return root


def strip_volatile(nb: dict) -> dict:
    nb = json.loads(json.dumps(nb))
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def test_release_reproduces_committed_assignments(copy):
    shutil.rmtree(copy / "assignments")
    r = course(copy, "release")
    assert r.returncode == 0, f"course.py release failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    for a in ASSIGNMENTS:
        for nb_path in sorted((ROOT / "assignments" / a).glob("*.ipynb")):
            fresh = copy / "assignments" / a / nb_path.name
            assert fresh.exists(), f"release did not produce assignments/{a}/{nb_path.name}"
            committed = strip_volatile(json.loads(nb_path.read_text()))
            regenerated = strip_volatile(json.loads(fresh.read_text()))
            assert committed == regenerated, (
                f"assignments/{a}/{nb_path.name} differs from a fresh release of solutions/{a}: "
                "run `python3 course.py release` and commit the result (never edit assignments/ by hand)")


def released(copy, a):
    return copy / "assignments" / a / f"{a}.ipynb"


def submit(copy: Path, student: str, a: str, nb) -> None:
    folder = copy / "submitted" / student / a
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (str, bytes)):
        (folder / f"{a}.ipynb").write_text(nb if isinstance(nb, str) else nb.decode())
    else:
        nbformat.write(nb, folder / f"{a}.ipynb")


def with_mistakes(a: str, edits) -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4)
    cells = {c.id: c for c in nb.cells}
    for cell_id, old, new in edits:
        assert old in cells[cell_id].source, f"submissions.py is stale: {old!r} not in cell {cell_id}"
        cells[cell_id].source = cells[cell_id].source.replace(old, new)
    return nb


def graded_cells(a: str) -> dict:
    nb = nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4)
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def scores(copy: Path, a: str, student: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:
        sub = gb.find_submission(a, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades}


def feedback_text(copy: Path, a: str, student: str) -> str:
    nb = nbformat.read(copy / "autograded" / student / a / f"{a}.ipynb", as_version=4)
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            out.append(o.get("evalue", "") + o.get("text", ""))
    return "\n".join(out)


@pytest.fixture(scope="module")
def graded(copy):
    """Submit everything once and autograde in one batch (the slow step: each submission trains a model)."""
    students = {"reference": None, "untouched": None, "corrupt": None, **{k: None for k in WRONG},
                **{k: None for k in HOSTILE}}
    for a in ASSIGNMENTS:
        submit(copy, "reference", a, nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4))
        submit(copy, "untouched", a, nbformat.read(ROOT / "assignments" / a / f"{a}.ipynb", as_version=4))
    a1 = ASSIGNMENTS[0]
    submit(copy, "corrupt", a1, released(ROOT, a1).read_text()[:5000])  # a truncated upload
    for student, (a, edits, _, _) in {**WRONG, **HOSTILE}.items():
        submit(copy, student, a, with_mistakes(a, edits))
    r = course(copy, "autograde")
    log = r.stdout + r.stderr
    return copy, students, log, r.returncode


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_reference_solution_earns_full_marks(graded, a):
    copy, _, log, _ = graded
    points = graded_cells(a)
    got = scores(copy, a, "reference")
    lost = {k: (got.get(k), v) for k, v in points.items() if got.get(k) != v}
    assert not lost, (f"{a}: the reference solution lost points (cell: (score, max)) {lost}.\n"
                      f"Feedback:\n{feedback_text(copy, a, 'reference')[-3000:]}\nLog:\n{log[-2000:]}")


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_unmodified_release_earns_zero(graded, a):
    copy, _, _, _ = graded
    got = scores(copy, a, "untouched")
    assert sum(got.values()) == 0, f"{a}: the unmodified release earned points: {got}"


@pytest.mark.parametrize("student", sorted(WRONG))
def test_wrong_submission_gets_expected_partial_score(graded, student):
    copy, _, _, _ = graded
    a, _, expected, phrases = WRONG[student]
    points = graded_cells(a)
    want = {k: expected.get(k, v) for k, v in points.items()}
    got = scores(copy, a, student)
    text = feedback_text(copy, a, student)
    assert got == want, (f"{student}: expected per-cell scores {want}, got {got}.\nFeedback:\n{text[-3000:]}")
    for phrase in phrases:
        assert phrase in text, f"{student}: the feedback should name the mistake ('{phrase}'), but reads:\n{text[-3000:]}"


def test_corrupt_submission_does_not_stop_the_batch(graded):
    copy, _, log, code = graded
    a1 = ASSIGNMENTS[0]
    assert not (copy / "autograded" / "corrupt" / a1 / f"{a1}.ipynb").exists() or \
        sum(scores(copy, a1, "corrupt").values()) == 0
    assert "corrupt" in log, f"the autograde log should name the student whose notebook is unreadable:\n{log[-2000:]}"
    assert (copy / "autograded" / "reference" / a1 / f"{a1}.ipynb").exists()


def test_feedback_and_grades_csv(graded):
    copy, _, _, _ = graded
    r = course(copy, "feedback")
    assert r.returncode == 0, f"course.py feedback failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    a1 = ASSIGNMENTS[0]
    html = copy / "feedback" / "reference" / a1 / f"{a1}.html"
    assert html.exists(), "generate_feedback wrote no HTML for the reference student"
    rows = list(csv.DictReader(open(copy / "grades.csv")))
    by_student = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert by_student[("reference", a1)] == sum(graded_cells(a1).values())
    assert by_student[("untouched", a1)] == 0


def sandboxed(log: str) -> bool:
    return "graded kernels run in a sandbox" in log


@pytest.mark.parametrize("student", sorted(k for k, v in HOSTILE.items() if v[2] == WITHHELD))
def test_tampering_is_flagged_and_its_grade_withheld(graded, student):
    from nbgrader.api import Gradebook, MissingEntry

    copy, _, log, _ = graded
    a, _, _, phrases = HOSTILE[student]
    assert f"grade WITHHELD for review: {student}" in log, f"{student}: the autograde log does not name it:\n{log[-3000:]}"
    report = (copy / "flagged" / student / f"{a}.txt").read_text()
    for phrase in phrases:
        assert phrase in report, f"{student}: expected '{phrase}' in the review report, which reads:\n{report}"
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(a, student)


@pytest.mark.parametrize("student", sorted(k for k, v in HOSTILE.items() if v[2] != WITHHELD))
def test_hostile_submission_gets_nothing_from_attacking_the_grader(graded, student):
    copy, _, log, _ = graded
    if not sandboxed(log):
        pytest.skip("graded kernels ran without a sandbox on this machine (course.py autograde warned): "
                    "install bubblewrap or run as root")
    a, _, expected, phrases = HOSTILE[student]
    points = graded_cells(a)
    want = {k: expected.get(k, v) for k, v in points.items()}
    got = scores(copy, a, student)
    text = feedback_text(copy, a, student)
    assert got == want, f"{student}: expected per-cell scores {want}, got {got}.\nFeedback:\n{text[-3000:]}"
    for phrase in phrases:
        assert phrase in text, f"{student}: expected '{phrase}' in the feedback, which reads:\n{text[-3000:]}"


def test_grading_leaves_the_course_as_it_was(graded):
    """No submission could change course_lib, the releases or the solutions while it was graded."""
    copy, _, log, _ = graded
    if not sandboxed(log):
        pytest.skip("graded kernels ran without a sandbox on this machine (course.py autograde warned)")
    for folder in ("course_lib", "solutions"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                twin = copy / path.relative_to(ROOT)
                assert twin.read_bytes() == path.read_bytes(), f"{twin.relative_to(copy)} changed during grading"
    # The kernels import this checkout's course_lib (the environment's .pth points here): it must be intact too.
    import course_lib.grading
    assert "# tampered" not in Path(course_lib.grading.__file__).read_text(), "a submission rewrote course_lib"
