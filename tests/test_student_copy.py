"""The student copy (python3 course.py student): nothing of the instructor's in it, and its two commands work.

What must not reach students: solution code, hidden tests (and so the expected values written in them), the
gradebook and submissions, and course_lib's reference answers. What must work from a fresh copy: the visible
checks (a completed notebook passes them with the reference modules withheld; tests/test_nbgrader.py grades every
reference solution against the same stubs) and the lab.
"""
import ast
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student_copy  # noqa: E402

SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
# Lines too common to reveal anything, which a tool or lecture may share with an answer or a test by coincidence.
GENERIC = re.compile(r"^(import |from \S+ import |except \w+( as \w+)?:$|def __\w+__\(self[^)]*\):$|if \w+(\.\w+)* is not None:$)")
GENERIC_LINES = {"self.net = nn.Sequential(", "g = torch.Generator().manual_seed(seed)", "torch.manual_seed(seed)",
                 "dev = next(model.parameters()).device", "n, m = len(x), len(y)",
                 "return torch.zeros(z.shape[0], 1, 28, 28)"}


def telling(line: str, shortest: int, comments: bool) -> bool:
    line = line.strip()
    return (len(line) >= shortest and (comments or not line.startswith("#")) and not GENERIC.match(line)
            and line not in GENERIC_LINES)


def cells(nb_path):
    return json.loads(Path(nb_path).read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The student copy as `course.py student --out` builds it."""
    out = tmp_path_factory.mktemp("student") / "dgm-course"
    r = subprocess.run([sys.executable, str(ROOT / "course.py"), "student", "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    print(r.stdout.strip())
    return out


def text_files(folder):
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix not in (".pt", ".png", ".zip"):
            yield p, p.read_text(errors="replace")


def graded_names():
    """Names that the solution cells define (functions and classes): what the assignments grade."""
    names = set()
    for nb in SOLUTIONS:
        for c in cells(nb):
            if c.get("metadata", {}).get("nbgrader", {}).get("solution"):
                tree = ast.parse(source(c))
                names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return names


def test_it_holds_what_students_need_and_nothing_else(copy):
    top = sorted(p.name for p in copy.iterdir())
    assert top == sorted([".gitignore", "README.md", "assignments", "course.py", "course_lib", "environment.yml",
                          "lectures", "pyproject.toml", "requirements.txt"]), f"top level of the student copy: {top}"
    assert sorted(p.name for p in (copy / "lectures").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))
    for nb in SOLUTIONS:
        a = nb.parent.name
        assert (copy / "assignments" / a / f"{a}.ipynb").read_bytes() == \
            (ROOT / "assignments" / a / f"{a}.ipynb").read_bytes(), f"{a}: the copy's release is not the release"
    forbidden = [p for p in copy.rglob("*") if p.name in ("solutions", "tests", "tools", "gradebook.db", "submitted",
                                                          "autograded", "feedback", "flagged", ".git",
                                                          "nbgrader_config.py", "grades.csv")]
    assert not forbidden, f"instructor's files in the student copy: {forbidden}"
    files = [p for p in copy.rglob("*") if p.is_file()]
    print(f"student copy: {len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB")
    archive = copy.parent / "dgm-course.zip"
    with zipfile.ZipFile(archive) as z:
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
    assert names == sorted(f"dgm-course/{p.relative_to(copy).as_posix()}" for p in files), \
        "the archive must hold exactly the student copy"


def test_no_solution_code_no_hidden_test_no_marker(copy):
    solution_lines, hidden_lines, visible = {}, set(), []
    for nb in SOLUTIONS:
        for c in cells(nb):
            src = source(c)
            names = {n.name for n in ast.parse(src).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))} \
                if c["cell_type"] == "code" else set()
            for block in SOLUTION_BLOCK.findall(src):
                for line in block.splitlines():
                    if telling(line, 20, comments=False):
                        solution_lines.setdefault(line.strip(), set()).update(names)
            for block in HIDDEN_BLOCK.findall(src):
                hidden_lines |= {line.strip() for line in block.splitlines() if telling(line, 16, comments=True)}
            visible.append(HIDDEN_BLOCK.sub("", SOLUTION_BLOCK.sub("", src)))
    # A line that the assignments also show (a recipe in the text, a visible assert) leaks nothing.
    visible = "\n".join(visible)
    solution_lines = {line: names for line, names in solution_lines.items() if line not in visible}
    hidden_lines = {line for line in hidden_lines if line not in visible}
    assert len(solution_lines) > 50 and len(hidden_lines) > 100, (len(solution_lines), len(hidden_lines))
    leaks = []
    for path, text in text_files(copy):
        rel = path.relative_to(copy)
        text = text.replace("\\n", "\n").replace('\\"', '"')   # notebooks: JSON strings, one per line
        leaks += [f"{rel}: marker {m!r}" for m in MARKERS if m in text]
        leaks += [f"{rel}: hidden-test line {line!r}" for line in hidden_lines if line in text]
        # A lecture or tool may write out a graded function the course teaches openly (student_copy.TAUGHT_OPENLY).
        openly = student_copy.TAUGHT_OPENLY.get(path.stem, set()) if rel.parts[0] in ("lectures", "course_lib") \
            else set()
        leaks += [f"{rel}: solution line {line!r}" for line, names in solution_lines.items()
                  if line in text and not names & openly]
    assert not leaks, "the student copy holds what only the instructor may see:\n" + "\n".join(leaks[:20])


def test_reference_modules_are_stubs(copy):
    for family, assignment in student_copy.FAMILIES.items():
        stub = copy / "course_lib" / f"{family}.py"
        tree = ast.parse(stub.read_text())
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        expected = set(student_copy.public_functions(ROOT / "course_lib" / f"{family}.py"))
        assert expected and expected <= functions.keys(), f"{family}: stubs missing for {expected - functions.keys()}"
        for name in expected:
            body = functions[name].body
            assert len(body) == 1 and isinstance(body[0], ast.Raise), f"course_lib.{family}.{name} holds code"
        assert "REFERENCE_WITHHELD = True" in stub.read_text() and assignment in stub.read_text()
    # every family module of the repository (its docstring says which assignment it grades) is withheld
    families = {}
    for p in (ROOT / "course_lib").glob("*.py"):
        m = re.search(r"what assignment ``(\w+)`` grades", ast.get_docstring(ast.parse(p.read_text())) or "")
        if m:
            families[p.stem] = m.group(1)
    assert families == student_copy.FAMILIES, f"family modules {families} vs withheld {student_copy.FAMILIES}"


def test_lectures_teach_openly_only_what_is_declared():
    graded = graded_names()
    for nb in sorted((ROOT / "lectures").glob("*.ipynb")):
        assert not student_copy.imported_families(nb), f"{nb.name} imports a module the student copy withholds"
        defined = set()
        for c in cells(nb):
            if c["cell_type"] == "code":
                src = "\n".join(x for x in source(c).splitlines() if not x.lstrip().startswith(("%", "!")))
                defined |= {n.name for n in ast.walk(ast.parse(src)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        extra = (defined & graded) - student_copy.TAUGHT_OPENLY.get(nb.stem, set())
        assert not extra, (f"{nb.name} writes out graded {sorted(extra)}: declare it in tools/student_copy.py's "
                           "TAUGHT_OPENLY (and make the assignment ask for more), or keep it out of the lecture")


def student_course(copy, *args, timeout=1800):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(COURSE_OFFLINE="1", COURSE_BUDGET="fast")
    return subprocess.run([sys.executable, "course.py", *args, "--here"], cwd=copy, capture_output=True, text=True,
                          env=env, timeout=timeout)


def complete(release: Path, solution: Path):
    """The release with every answer cell filled in from the reference solution (markers removed)."""
    answers = {c["id"]: source(c) for c in cells(solution) if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = json.loads(release.read_text())
    for c in nb["cells"]:
        if c["id"] in answers:
            text = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", answers[c["id"]])
            c["source"] = text.splitlines(keepends=True)
    release.write_text(json.dumps(nb, indent=1))


def test_visible_checks_run_in_the_copy(copy):
    # A fresh release fails its visible tests, and says so.
    a = "a5_evaluation"     # the quickest to run; the command is the same for every assignment
    r = student_course(copy, "test", a)
    assert r.returncode == 1 and re.search(rf"{a}: \d+ test cell\(s\) fail", r.stdout), r.stdout[-3000:]
    # Completed, it passes them, with course_lib's reference modules withheld. (That every completed assignment
    # passes its tests, visible and hidden, with them withheld is the round trip's: tests/test_nbgrader.py grades
    # the reference solutions in copies of the course whose family modules are these stubs.)
    complete(copy / "assignments" / a / f"{a}.ipynb", ROOT / "solutions" / a / f"{a}.ipynb")
    t0 = time.time()
    r = student_course(copy, "test", a)
    print(f"visible checks of {a}, completed, in the student copy: {time.time() - t0:.0f} s")
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-2000:]
    assert f"{a}: passes every visible test" in r.stdout, r.stdout[-3000:]


def test_instructor_commands_are_refused_in_the_copy(copy):
    for cmd in ("release", "autograde", "feedback", "student", "execute", "results"):
        r = student_course(copy, cmd, timeout=60)
        assert r.returncode == 2 and "instructor's command" in r.stdout, (cmd, r.stdout, r.stderr)


def test_lab_serves_the_copy(copy):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "student-test"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "course.py", "lab", "--here", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                            cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        deadline, listing = time.time() + 90, None
        while time.time() < deadline and listing is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/?token={token}"
                listing = json.load(urllib.request.urlopen(url, timeout=2))
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "the lab did not answer within 90 s"
        names = {item["name"] for item in listing["content"]}
        assert {"lectures", "assignments", "course_lib", "README.md"} <= names and "solutions" not in names, names
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
