"""The tampering scan (tools/scan_submissions.py): it flags every way of attacking the grader from inside a
notebook that the sandbox cannot stop, and nothing that an honest answer to the course's assignments contains."""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from scan_submissions import scan_cells, scan_notebook  # noqa: E402

from submissions import HOSTILE, WITHHELD, WRONG  # noqa: E402

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def cell(source, locked=False):
    return {"cell_type": "code", "id": "answer", "source": source,
            "metadata": {"nbgrader": {"locked": locked}} if locked else {}}


def with_edits(a, edits):
    nb = nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4)
    cells = {c.id: c for c in nb.cells}
    for cid, old, new in edits:
        cells[cid].source = cells[cid].source.replace(old, new)
    return nb


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_reference_solutions_and_releases_are_clean(a):
    for folder in ("solutions", "assignments"):
        found = scan_notebook(ROOT / folder / a / f"{a}.ipynb")
        assert not found, f"{folder}/{a}: false alarms {[str(f) for f in found]}"


def test_no_honest_submission_is_flagged():
    for student, (a, edits, _, _) in WRONG.items():
        found = scan_cells(with_edits(a, edits).cells)
        assert not found, f"{student} is an honest (if wrong) submission, flagged for {[str(f) for f in found]}"


@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_hostile_submissions_are_flagged_or_left_to_the_sandbox(student):
    a, edits, expected, phrases = HOSTILE[student]
    text = "\n".join(str(f) for f in scan_cells(with_edits(a, edits).cells))
    if expected == WITHHELD:
        assert all(p in text for p in phrases), f"{student}: expected {phrases} among the findings:\n{text}"
    else:
        assert not text, f"{student} is meant to reach the sandbox, but the scan flags it:\n{text}"


@pytest.mark.parametrize("source, why", [
    ("import sys\nsys.excepthook = lambda *a: None", "replaces an attribute of the module sys"),
    ("get_ipython().showtraceback = lambda *a, **k: None", "the kernel"),
    ("import numpy as np\nnp.isclose = lambda *a, **k: True", "replaces an attribute of the module np"),
    ("import course_lib.grading\nsetattr(course_lib.grading, 'check_close', print)", "setattr on the module course_lib"),
    ("import course_lib.vae as V\nanswer = V.gaussian_kl.__wrapped__", "__wrapped__"),
    ("f = lambda: 0\nf.__code__ = (lambda: 1).__code__", "a function's code object"),
    ("import ctypes", "raw memory access"),
    ("import gc\nrefs = gc.get_referents", "the garbage collector"),
    ("open('../../../gradebook.db', 'rb')", "a path to the instructor's files"),
    ("eval('1 + 1')", "running code from text"),
    ("import subprocess", "other processes"),
    ("import sys\nsys.modules['torch'] = None", "sys.modules"),
])
def test_each_attack_class_is_named(source, why):
    found = [str(f) for f in scan_cells([cell(source)])]
    assert any(why in f for f in found), f"expected a finding naming '{why}' for:\n{source}\ngot {found}"
    assert found[0].startswith("cell answer, line "), found


def test_locked_cells_are_not_read():
    assert not scan_cells([cell("import ctypes", locked=True)])


def test_a_modules_call_is_not_sys_modules():
    """nn.Module.modules() is honest (a4 Part 4 may loop over a critic's layers); sys.modules is not."""
    assert not scan_cells([cell("for m in critic.modules():\n    pass\n")])
    assert scan_cells([cell("import sys\nx = sys.modules['course_lib']\n")])
