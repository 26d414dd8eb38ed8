"""The nbgrader round trip, run in temporary copies of the course with the README's instructor commands.

1. `course.py release` regenerates assignments/ from solutions/ and reproduces the committed releases.
2. `course.py autograde` in copies of the course (pytest-xdist grades assignments side by side): the reference
   solution earns full marks and raises in no cell with course_lib's reference answers withheld as in the student
   copy, the unmodified release earns zero, realistic mistakes (tests/submissions.py) lose exactly the parts they
   break, with feedback that names the mistake, and a corrupt notebook does not stop the others from being graded.
3. `course.py feedback` writes feedback HTML and grades.csv.

Grading a notebook costs a kernel and every training test in it, so the mistakes of one assignment are graded
in bundles: mistakes that edit different answer cells and lose different test cells share one notebook. Each
mistake still has its own test below: its cells score what it expects, every cell no mistake of the bundle
targets keeps full marks, and the feedback of the cells it loses names it. What bundling gives up: whether a
mistake would also have cost a cell that another mistake of the same bundle loses anyway. The attacks on the
grader that are graded (tests/submissions.py's HOSTILE, where kernels run in a sandbox) share notebooks the same way.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from submissions import HOSTILE, WITHHELD, WRONG

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student_copy  # noqa: E402
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
A1 = ASSIGNMENTS[0]

pytestmark = pytest.mark.timeout(1800)   # an assignment's autograde runs inside its first test


def course(root: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    # The copy's course_lib, not the checkout's (the environment's .pth file points there): on PYTHONPATH it comes
    # first, for the commands and for the kernels they start.
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, str(root / "course.py"), *args], cwd=root, env=env,
                          capture_output=True, text=True)


def make_copy(tmp_path_factory, name: str, withheld: bool = False) -> Path:
    """A copy of the course to run instructor's commands in; ``withheld``: course_lib's family modules (the
    reference answers) replaced by the student copy's stubs, which keep the names and raise if called."""
    root = tmp_path_factory.mktemp(name)
    for folder in ("solutions", "assignments", "course_lib", "tools"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    if withheld:
        for family in student_copy.FAMILIES:
            (root / "course_lib" / f"{family}.py").write_text(student_copy.stub_source(family))
    for file in ("nbgrader_config.py", "course.py", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / file, root / file)
    (root / ".venv").symlink_to(ROOT / ".venv")  # the environment is already built: setup() sees it is current
    return root


def strip_volatile(nb: dict) -> dict:
    nb = json.loads(json.dumps(nb))
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def test_release_reproduces_committed_assignments(tmp_path_factory):
    copy = make_copy(tmp_path_factory, "release")
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


def pack(a: str, table: dict, label: str) -> dict[str, list[str]]:
    """The submissions of ``a`` in ``table`` that are graded (not withheld) packed first-fit into notebooks
    (bundle id -> students): a mistake joins a bundle when it edits none of the bundle's answer cells and loses
    none of the test cells the bundle loses."""
    packed = []  # (students, cells edited, cells lost)
    for student in sorted(k for k, v in table.items() if v[0] == a and v[2] != WITHHELD):
        _, edits, expected, _ = table[student]
        edited, lost = {cell for cell, _, _ in edits}, set(expected)
        for students, cells, losses in packed:
            if cells.isdisjoint(edited) and losses.isdisjoint(lost):
                students.append(student)
                cells |= edited
                losses |= lost
                break
        else:
            packed.append(([student], edited, lost))
    return {f"{a}_{label}{i}": students for i, (students, _, _) in enumerate(packed)}


def bundles(a: str) -> dict[str, list[str]]:
    return pack(a, WRONG, "bundle")


def hostile_bundles(a: str) -> dict[str, list[str]]:
    """The attacks on the grader that are graded (where kernels run in a sandbox), bundled like the mistakes."""
    return pack(a, HOSTILE, "hostile")


BUNDLE = {student: bundle for a in ASSIGNMENTS for bundle, students in bundles(a).items() for student in students}
HOSTILE_BUNDLE = {student: bundle for a in ASSIGNMENTS for bundle, students in hostile_bundles(a).items()
                  for student in students}


def scores(copy: Path, a: str, student: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:
        sub = gb.find_submission(a, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades}


def autograded(copy: Path, a: str, student: str) -> nbformat.NotebookNode:
    path = copy / "autograded" / student / a / f"{a}.ipynb"
    if not path.is_file():
        log = next((log for c, log, _ in _GRADED.values() if c == copy), "")
        lines = [line for line in log.splitlines() if student in line or re.search("error|timeout", line, re.I)]
        pytest.fail(f"{a}: nbgrader wrote no autograded notebook for {student}. The autograde log's lines about it "
                    f"or about errors:\n" + "\n".join(lines[-40:]) + f"\nThe log's end:\n{log[-3000:]}")
    return nbformat.read(path, as_version=4)


def output_text(cells) -> str:
    return "\n".join(o.get("evalue", "") + o.get("text", "") for c in cells for o in c.get("outputs", []))


def feedback_text(copy: Path, a: str, student: str, leave_out=()) -> str:
    """What the autograded notebook says, in every cell but the graded cells named in ``leave_out``."""
    return output_text(c for c in autograded(copy, a, student).cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") not in leave_out)


def sandbox_available() -> bool:
    probe = subprocess.run([sys.executable, str(ROOT / "tools" / "sandboxed_kernel.py"), "--probe"],
                           capture_output=True, text=True)
    return probe.stdout.strip() not in ("", "none")


_GRADED = {}


def released_copy(tmp_path_factory, a: str, withheld: bool) -> Path:
    """A copy of the course where ``a`` is released (what the instructor did before students worked: the gradebook
    knows ``a``), whose commands and kernels import the copy's course_lib."""
    copy = make_copy(tmp_path_factory, f"grade-{a}" + ("-withheld" if withheld else ""), withheld)
    probe = "import importlib.util as u; print(u.find_spec('course_lib').origin)"
    found = subprocess.run([sys.executable, "-c", probe],
                           env={**os.environ, "PYTHONPATH": str(copy)}, cwd=copy / "solutions",  # like a kernel's
                           capture_output=True, text=True).stdout.strip()
    assert Path(found).parent == copy / "course_lib", f"the graders would import {found}, not the copy's course_lib"
    r = course(copy, "release", a)
    assert r.returncode == 0, f"course.py release {a} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return copy


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """graded(a, withheld=False): ``a``'s submissions, autograded once per worker (the slow step: each notebook
    trains models) in two copies of the course of their own, each graded with `course.py autograde`:

    - withheld=True: the reference solution and the unmodified release, in a copy whose course_lib has the
      student copy's stubs in place of the reference answers. Full marks there say that neither the answers nor
      the tests, visible or hidden, need a reference answer; so this also stands for the visible checks that a
      student runs in the student copy (tests/test_student_copy.py runs that copy's own command on one assignment).
    - withheld=False: the mistakes, the corrupt upload and the attacks, in the course as the instructor has it.
      Some tests grade a part on the course's version of an earlier part the submission left unwritten.

    Submissions that attack the grader while it runs them are graded only where graded kernels run in a sandbox;
    the scan withholds the others before any of them runs."""
    def grade(a: str, withheld: bool = False):
        if (a, withheld) not in _GRADED:
            copy = released_copy(tmp_path_factory, a, withheld)
            if withheld:
                submit(copy, "reference", a, nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4))
                submit(copy, "untouched", a, nbformat.read(ROOT / "assignments" / a / f"{a}.ipynb", as_version=4))
            else:
                if a == A1:
                    submit(copy, "corrupt", a, released(ROOT, a).read_text()[:5000])  # a truncated upload
                for bundle, students in bundles(a).items():
                    submit(copy, bundle, a, with_mistakes(a, [e for s in students for e in WRONG[s][1]]))
                for student, (b, edits, expected, _) in HOSTILE.items():
                    if b == a and expected == WITHHELD:   # the scan withholds these before anything runs
                        submit(copy, student, a, with_mistakes(a, edits))
                if sandbox_available():
                    for bundle, students in hostile_bundles(a).items():
                        submit(copy, bundle, a, with_mistakes(a, [e for s in students for e in HOSTILE[s][1]]))
            r = course(copy, "autograde", a)
            _GRADED[a, withheld] = copy, r.stdout + r.stderr, r.returncode
        return _GRADED[a, withheld]
    return grade


def per_assignment(keys, assignment_of=lambda k: k):
    """Parameters whose ids start with their assignment: conftest.py gives each assignment its own xdist unit."""
    return [pytest.param(k, id=f"{assignment_of(k)}:{k}" if assignment_of(k) != k else k) for k in keys]


@pytest.mark.parametrize("a", per_assignment(ASSIGNMENTS))
def test_reference_solution_earns_full_marks(graded, a):
    copy, log, _ = graded(a, withheld=True)
    points = graded_cells(a)
    got = scores(copy, a, "reference")
    lost = {k: (got.get(k), v) for k, v in points.items() if got.get(k) != v}
    assert not lost, (f"{a}: the reference solution lost points (cell: (score, max)) {lost}.\n"
                      f"Feedback:\n{feedback_text(copy, a, 'reference')[-3000:]}\nLog:\n{log[-2000:]}")
    # The solution notebook as a whole runs: no cell raises, graded or not (what nbval would check).
    raised = [c.id for c in autograded(copy, a, "reference").cells
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not raised, f"{a}: these cells of the reference solution raise when autograded: {raised}"


@pytest.mark.parametrize("a", per_assignment(ASSIGNMENTS))
def test_unmodified_release_earns_zero(graded, a):
    copy, _, _ = graded(a, withheld=True)
    got = scores(copy, a, "untouched")
    assert sum(got.values()) == 0, f"{a}: the unmodified release earned points: {got}"


def check_bundled(copy: Path, a: str, student: str, table: dict, bundle: str, mates: list[str]) -> None:
    """``student``'s cells score what it expects, every cell no submission of its bundle targets keeps full marks,
    and the feedback names it (read everywhere but in the cells that the bundle's other submissions lose)."""
    _, _, expected, phrases = table[student]
    targeted = {cell for other in mates for cell in table[other][2]}
    points = graded_cells(a)
    want = {k: expected.get(k, v) for k, v in points.items() if k in expected or k not in targeted}
    got = {k: v for k, v in scores(copy, a, bundle).items() if k in want}
    text = feedback_text(copy, a, bundle, leave_out=targeted - set(expected))
    assert got == want, (f"{student} (graded in {bundle} with {', '.join(mates)}): expected per-cell "
                         f"scores {want}, got {got}.\nFeedback:\n{text[-3000:]}")
    for phrase in phrases:
        assert phrase in text, (f"{student}: the feedback should name it ('{phrase}'), but reads "
                                f"(without the cells {sorted(targeted - set(expected))}):\n{text[-3000:]}")


@pytest.mark.parametrize("student", per_assignment(sorted(WRONG), lambda s: WRONG[s][0]))
def test_wrong_submission_gets_expected_partial_score(graded, student):
    a = WRONG[student][0]
    copy, _, _ = graded(a)
    check_bundled(copy, a, student, WRONG, BUNDLE[student], bundles(a)[BUNDLE[student]])


@pytest.mark.parametrize("a", per_assignment([A1]))
def test_corrupt_submission_does_not_stop_the_batch(graded, a):
    copy, log, _ = graded(a)
    assert not (copy / "autograded" / "corrupt" / a / f"{a}.ipynb").exists() or \
        sum(scores(copy, a, "corrupt").values()) == 0
    assert "corrupt" in log, f"the autograde log should name the student whose notebook is unreadable:\n{log[-2000:]}"
    # What nbgrader could not grade is tried once more on its own (a kernel that died under load gets a second
    # chance); the unreadable notebook fails again, and only it.
    assert "grading again, one at a time, what was not graded: corrupt\n" in log, \
        f"the autograde log should show the ungraded submission (only) graded again:\n{log[-2000:]}"
    assert all((copy / "autograded" / bundle / a / f"{a}.ipynb").exists() for bundle in bundles(a))


@pytest.mark.parametrize("a", per_assignment([A1]))
def test_feedback_and_grades_csv(graded, a):
    copy, _, _ = graded(a, withheld=True)
    r = course(copy, "feedback", a)
    assert r.returncode == 0, f"course.py feedback failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    html = copy / "feedback" / "reference" / a / f"{a}.html"
    assert html.exists(), "generate_feedback wrote no HTML for the reference student"
    rows = list(csv.DictReader(open(copy / "grades.csv")))
    by_student = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert by_student[("reference", a)] == sum(graded_cells(a).values())
    assert by_student[("untouched", a)] == 0


def sandboxed(log: str) -> bool:
    return "graded kernels run in a sandbox" in log


@pytest.mark.parametrize("student", per_assignment(sorted(k for k, v in HOSTILE.items() if v[2] == WITHHELD),
                                                   lambda s: HOSTILE[s][0]))
def test_tampering_is_flagged_and_its_grade_withheld(graded, student):
    from nbgrader.api import Gradebook, MissingEntry

    a, _, _, phrases = HOSTILE[student]
    copy, log, _ = graded(a)
    assert f"grade WITHHELD for review: {student}" in log, f"{student}: the autograde log does not name it:\n{log[-3000:]}"
    report = (copy / "flagged" / student / f"{a}.txt").read_text()
    for phrase in phrases:
        assert phrase in report, f"{student}: expected '{phrase}' in the review report, which reads:\n{report}"
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(a, student)


@pytest.mark.parametrize("student", per_assignment(sorted(k for k, v in HOSTILE.items() if v[2] != WITHHELD),
                                                   lambda s: HOSTILE[s][0]))
def test_hostile_submission_gets_nothing_from_attacking_the_grader(graded, student):
    a = HOSTILE[student][0]
    copy, log, _ = graded(a)
    if not sandboxed(log):
        pytest.skip("graded kernels ran without a sandbox on this machine (course.py autograde warned), so "
                    "submissions that attack the grader were not graded: install bubblewrap or run as root")
    bundle = HOSTILE_BUNDLE[student]
    check_bundled(copy, a, student, HOSTILE, bundle, hostile_bundles(a)[bundle])


@pytest.mark.parametrize("a", per_assignment([A1]))
def test_grading_leaves_the_course_as_it_was(graded, a):
    """No submission could change course_lib, the releases or the solutions while it was graded."""
    copy, log, _ = graded(a)
    if not sandboxed(log):
        pytest.skip("graded kernels ran without a sandbox on this machine (course.py autograde warned)")
    for folder in ("course_lib", "solutions"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                twin = copy / path.relative_to(ROOT)
                assert twin.read_bytes() == path.read_bytes(), f"{twin.relative_to(copy)} changed during grading"
    # The kernels imported the copy's course_lib; this checkout's must be intact too.
    import course_lib.grading
    assert "# tampered" not in Path(course_lib.grading.__file__).read_text(), "a submission rewrote course_lib"
