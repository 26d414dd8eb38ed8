#!/usr/bin/env python3
"""One entry point for students, instructors and CI. Standard library only: run it with any Python 3.10+.

    python3 course.py lab          set everything up, open the course in JupyterLab
    python3 course.py test         set everything up, run the whole test suite (what .ci/run calls);
                                   in the student copy: the visible checks of every assignment
    python3 course.py check [ID ...]      the visible checks of assignments/ (nbgrader validate)

Instructors:
    python3 course.py student [--out DIR] build the student copy (build/student/dgm-course and a .zip):
                                          lectures, releases, the library without its reference answers
    python3 course.py release [ID ...]    regenerate assignments/ from solutions/ (nbgrader)
    python3 course.py autograde [ID ...]  autograde every submission in submitted/, several at once (--jobs N;
                                          default: one per core), each kernel in a sandbox (--grade-flagged:
                                          also those withheld for review after the tampering scan)
    python3 course.py feedback [ID ...]   write feedback/ and grades.csv
Maintainers:
    python3 course.py execute [NOTEBOOK ...]   re-run lecture notebooks in the fast budget, in place
    python3 course.py execute --full [--out DIR] [NOTEBOOK ...]
                                               on a GPU machine: run every lecture and solution notebook in
                                               the full budget into build/full/ (never in place), time them
    python3 course.py results [--budget fast|full] [MODEL ...]
                                               train every model of the course at a budget on the best device
                                               here, measure each the same way, write results/<budget>.json
                                               and the README's results table (tools/results.py)
    python3 course.py setup                    only build the environment

Setup makes a virtual environment in .venv from requirements.txt and puts this checkout's course_lib
on its path. It records a hash of the requirements, so the second run skips straight to the command.

--here (with any command): use the Python that runs course.py and the current PATH instead of .venv, with
no setup, e.g. in a conda environment made from environment.yml or on Colab:  python course.py test --here
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".course-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
HERE = False  # --here: run everything with sys.executable and the current PATH; no .venv, no setup
# The student copy (python3 course.py student) has no solutions/: there `test` runs the visible checks, and the
# instructor's commands are refused.
STUDENT = not (ROOT / "solutions").is_dir()
INSTRUCTOR_ONLY = ("student", "release", "autograde", "feedback", "execute", "results")


def say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def run(cmd, **kwargs) -> int:
    return subprocess.call([str(c) for c in cmd], **kwargs)


def requirements_hash() -> str:
    h = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()


def course_env(**extra) -> dict:
    """The environment every course command runs in: the venv first on PATH (nbgrader calls
    `alembic` by name), quiet kernels, and any extra variables. With --here: the current PATH, and this
    checkout on PYTHONPATH (what the venv's .pth file does), so notebooks import its course_lib."""
    env = dict(os.environ)
    if HERE:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    else:
        env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
        env["VIRTUAL_ENV"] = str(VENV)
        env.pop("PYTHONHOME", None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.update(extra)
    return env


def setup() -> None:
    if sys.version_info < (3, 10):
        sys.exit(f"[course] Python 3.10 or newer is needed; this is {sys.version.split()[0]}")
    if HERE:
        say(f"--here: using this Python, {sys.executable}, and the current PATH; setup skipped "
            "(install requirements.txt or environment.yml into it yourself)")
        return
    want = requirements_hash()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        write_startup_files()
        say(f"environment up to date ({VENV.relative_to(ROOT)})")
        return
    t0 = time.time()
    if not PY.exists():
        say(f"creating a virtual environment in {VENV.relative_to(ROOT)}")
        if run([sys.executable, "-m", "venv", VENV]) != 0:
            sys.exit("[course] could not create the virtual environment (on Debian/Ubuntu: apt install python3-venv)")
    say("installing the pinned requirements (the first time takes a few minutes: torch is large)")
    # pip byte-compiles every module one file at a time (over a minute for torch alone); compileall does the same
    # on every core. Skipping it is no option: graded kernels see the environment read-only, so each of them
    # would compile torch again.
    code = run([PY, "-m", "pip", "install", "--disable-pip-version-check", "--no-compile",
                "-r", ROOT / "requirements.txt"], env=course_env())
    if code != 0:
        sys.exit("[course] pip could not install requirements.txt; the lines above say which package failed")
    paths = subprocess.check_output([str(PY), "-c", "import sysconfig; p = sysconfig.get_paths(); "
                                     "print(p['purelib']); print(p['platlib'])"], text=True).split()
    run([PY, "-m", "compileall", "-qq", "-j", "0", *sorted(set(paths))])  # like pip, a file that fails is skipped
    write_startup_files()
    STAMP.write_text(want + "\n")
    say(f"environment ready in {time.time() - t0:.0f} s")


# Read by every Python process of the venv at startup (site's .pth files; a line starting with "import" runs).
STARTUP_FILES = {
    # This checkout's course_lib, importable from anywhere in the venv (an editable install without a build).
    "course_lib_checkout.pth": lambda: str(ROOT) + "\n",
    # jsonschema checks the "iri" string format only if rfc3987_syntax imports, and that module builds a Lark
    # grammar when imported: 1.4 s in every process that reads a notebook (each nbgrader command, each jupyter),
    # about a minute of a test run. Nothing in the course validates IRIs, so the import is declined: jsonschema
    # treats the package as absent (its own fallback) and skips that one format.
    "course_skip_iri_grammar.pth": lambda: 'import sys; sys.modules.setdefault("rfc3987_syntax", None)\n',
}


def write_startup_files() -> None:
    site = next(VENV.glob("lib/python3*/site-packages"), VENV / "Lib" / "site-packages")
    for name, text in STARTUP_FILES.items():
        path = site / name
        if not path.is_file() or path.read_text() != text():
            path.write_text(text())


def nbgrader(*args) -> int:
    return run([PY, "-m", "nbgrader", *args], cwd=ROOT, env=course_env())


def assignment_ids(given) -> list[str]:
    ids = list(given) or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    for a in ids:
        if not (ROOT / "solutions" / a).is_dir():
            sys.exit(f"[course] no assignment {a!r} in solutions/ (have: "
                     f"{', '.join(sorted(p.name for p in (ROOT / 'solutions').iterdir()))})")
    return ids


def cmd_lab(args) -> int:
    setup()
    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    say("opening JupyterLab: start with lectures/01_autoencoders.ipynb (Ctrl-C stops the server)")
    jupyter = [PY, "-m", "jupyterlab"] if HERE else [BIN / "jupyter", "lab"]
    return run([*jupyter, f"--ServerApp.root_dir={ROOT}", *extra, *args], cwd=ROOT, env=course_env())


def cmd_test(args) -> int:
    if STUDENT:
        return cmd_check(args)
    setup()
    # Tests always run in the fast budget and never reach for the network. They use every core: one pytest-xdist
    # worker per core, each with one torch thread (kernels and the graders they start inherit it), because two
    # threads per process on shared cores ran many times slower than one. conftest.py says what runs together.
    # solutions/ is not run by nbval: the round trip autogrades each solution and checks that no cell raises.
    # A worker is one core's worth: the autogrades and student checks it starts run one notebook at a time
    # (COURSE_CORES=1); four kernels on two cores took about a tenth more CPU than two (a5 graded twice at once).
    workers = cores()
    env = course_env(COURSE_BUDGET="fast", COURSE_OFFLINE="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                     COURSE_CORES="1")
    parallel = ["-n", str(workers)] if workers > 1 and "-n" not in args else []
    t0 = time.time()
    code = run([PY, "-m", "pytest", "tests", "lectures", *parallel, "--nbval-lax", "--nbval-current-env",
                "--nbval-cell-timeout=600", "-p", "no:cacheprovider", "--durations=25", *args], cwd=ROOT, env=env)
    say(f"test suite finished in {time.time() - t0:.0f} s with exit code {code}")
    return code


def cmd_check(args) -> int:
    """nbgrader validate on each assignment notebook in assignments/ (or the ones named): the tests a student
    can see, run the way the Validate button of nbgrader's Assignments tab runs them."""
    have = sorted(p.name for p in (ROOT / "assignments").iterdir() if (p / f"{p.name}.ipynb").is_file())
    ids = list(args) or have
    unknown = [a for a in ids if a not in have]
    if unknown:
        sys.exit(f"[course] no assignment {', '.join(map(repr, unknown))} in assignments/ (have: {', '.join(have)})")
    setup()
    # One notebook per core at a time, one thread each (on shared cores, two threads per kernel ran far slower).
    jobs = min(cores(), len(ids))
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, cores() // jobs))
    say(f"running every visible test of {', '.join(ids)} ({jobs} at a time; this executes the notebooks)")

    def validate(a):
        t0 = time.time()
        # Validate's default allows 30 s per cell; a training cell on a slow laptop can need more.
        r = subprocess.run([str(PY), "-m", "nbgrader", "validate", f"{a}.ipynb", "--Execute.timeout=600"],
                           cwd=ROOT / "assignments" / a, capture_output=True, text=True,
                           env=course_env(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads))
        return r, time.time() - t0

    summary, code = [], 0
    with ThreadPoolExecutor(jobs) as pool:
        for a, (r, seconds) in zip(ids, pool.map(validate, ids)):
            out = r.stdout.strip()
            print(f"--- assignments/{a}/{a}.ipynb\n{out}", flush=True)
            if r.returncode != 0 or not out:
                verdict, code = f"could not be checked: {r.stderr.strip().splitlines()[-1:] or 'no output'}", 1
            elif "passes all the tests" in out:
                verdict = "passes every visible test"
            else:
                failed = re.search(r"VALIDATION FAILED ON (\d+) CELL", out)
                verdict = f"{failed.group(1)} test cell(s) fail" if failed else "does not pass yet (see above)"
                code = 1
            summary.append(f"{a}: {verdict} ({seconds:.0f} s)")
    for line in summary:
        say(line)
    say("the grader adds hidden tests of the same kind: passing these is necessary, not sufficient")
    return code


def cmd_student(args) -> int:
    """Build the student copy: tools/student_copy.py says what goes in and what stays with the instructor."""
    out = ROOT / "build" / "student" / "dgm-course"
    if args[:1] == ["--out"] and len(args) == 2:
        out = Path(args[1]).resolve()
    elif args:
        sys.exit("[course] usage: python3 course.py student [--out DIR]")
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import student_copy
    finally:
        sys.path.pop(0)
    stale = [a for a in assignment_ids([]) if not (ROOT / "assignments" / a / f"{a}.ipynb").is_file()]
    if stale:
        sys.exit(f"[course] no release of {', '.join(stale)} in assignments/: run python3 course.py release first")
    try:
        stats = student_copy.build(out)
    except ValueError as e:
        sys.exit(f"[course] {e}")
    zipped = student_copy.archive(out)
    say(f"student copy in {out}: {stats['files']} files, {stats['bytes'] / 1e6:.1f} MB; archive {zipped} "
        f"({zipped.stat().st_size / 1e6:.1f} MB). It holds no solutions, hidden tests or gradebook, and "
        "course_lib without its reference answers; its README starts a student off.")
    return 0


def cmd_release(args) -> int:
    setup()
    for a in assignment_ids(args):
        say(f"generating assignments/{a} from solutions/{a}")
        if nbgrader("generate_assignment", a, "--force", "--log-level=WARN") != 0:
            return 1
    return 0


def sandbox_kernel() -> tuple[list[str], dict]:
    """The nbgrader options and environment that run every graded kernel in tools/sandboxed_kernel.py's sandbox,
    or, where no sandbox is available, nothing, after a loud warning."""
    probe = subprocess.run([str(PY), str(ROOT / "tools" / "sandboxed_kernel.py"), "--probe"], capture_output=True,
                           text=True, env=course_env())
    how = probe.stdout.strip() or "none"
    if how == "none":
        say("WARNING: autograding WITHOUT a sandbox. A submission can then read the solutions and the gradebook and "
            "change files in this folder. Install bubblewrap (apt install bubblewrap) or grade as root "
            "(COURSE_SANDBOX=off is how to choose this on purpose).")
        return [], {}
    spec = ROOT / "build" / "kernels" / "dgm-sandbox"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(PY), str(ROOT / "tools" / "sandboxed_kernel.py"), "--root", str(ROOT), "-f", "{connection_file}"],
        "display_name": "Python 3 (graded, sandboxed)", "language": "python"}, indent=1) + "\n")
    say(f"graded kernels run in a sandbox ({how}): the course folder read-only, the instructor's files hidden")
    jupyter_path = os.pathsep.join(filter(None, [str(ROOT / "build"), os.environ.get("JUPYTER_PATH", "")]))
    return ["--Execute.kernel_name=dgm-sandbox"], {"JUPYTER_PATH": jupyter_path}


def flagged_students(a: str) -> list[str]:
    """Scan every submission of ``a`` for tampering with the grader (tools/scan_submissions.py); write a report to
    flagged/<student>/<a>.txt for each flagged one and return their ids."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from scan_submissions import scan_notebook
    finally:
        sys.path.pop(0)
    flagged = []
    for nb in sorted((ROOT / "submitted").glob(f"*/{a}/{a}.ipynb")):
        student = nb.parent.parent.name
        try:
            findings = scan_notebook(nb)
        except (OSError, ValueError):
            continue  # unreadable: nbgrader reports it by name
        if findings:
            flagged.append(student)
            report = ROOT / "flagged" / student / f"{a}.txt"
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text("\n".join(str(f) for f in findings) + "\n")
            say(f"{a}: grade WITHHELD for review: {student} ({len(findings)} finding(s), in "
                f"{report.relative_to(ROOT)}):")
            for f in findings[:5]:
                print(f"    {f}", flush=True)
    return flagged


def cores() -> int:
    """The cores course.py's own parallel work may use: COURSE_CORES when set (``course.py test`` gives each of its
    workers one, so that two graders never share a core), else every core this process may run on."""
    asked = os.environ.get("COURSE_CORES", "").strip()
    if asked.isdigit() and int(asked) >= 1:
        return int(asked)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def gradebook_has(a: str) -> bool:
    db = ROOT / "gradebook.db"
    if not db.is_file():
        return False
    with closing(sqlite3.connect(db)) as con:
        return con.execute("SELECT 1 FROM assignment WHERE name = ?", (a,)).fetchone() is not None


def merge_gradebook(worker_db: Path, a: str, students: list[str]) -> None:
    """Move the submissions of ``students`` to ``a`` from a worker's gradebook into the course's.

    A worker's gradebook starts as a copy of the course's, so assignments, notebooks and cells have the same ids
    in both; only the submissions' rows (and any new students) differ. nbgrader cannot autograde in parallel into
    one SQLite gradebook (jupyter/nbgrader#174), hence one gradebook per worker, merged here in one transaction."""
    marks = ",".join("?" * len(students))
    mine = f"SELECT id FROM {{db}}submitted_assignment WHERE student_id IN ({marks}) AND assignment_id = " \
           f"(SELECT id FROM {{db}}assignment WHERE name = ?)"
    notebooks = f"SELECT id FROM {{db}}submitted_notebook WHERE assignment_id IN ({mine})"
    args = (*students, a)
    with closing(sqlite3.connect(ROOT / "gradebook.db", timeout=60)) as con, con:
        con.execute("ATTACH DATABASE ? AS w", (str(worker_db),))
        con.execute("INSERT OR IGNORE INTO main.student SELECT * FROM w.student")
        for table in ("grade", "comment"):
            con.execute(f"DELETE FROM main.{table} WHERE notebook_id IN ({notebooks.format(db='main.')})", args)
        con.execute(f"DELETE FROM main.submitted_notebook WHERE assignment_id IN ({mine.format(db='main.')})", args)
        con.execute(f"DELETE FROM main.submitted_assignment WHERE id IN ({mine.format(db='main.')})", args)
        con.execute(f"INSERT INTO main.submitted_assignment SELECT * FROM w.submitted_assignment WHERE id IN "
                    f"({mine.format(db='w.')})", args)
        con.execute(f"INSERT INTO main.submitted_notebook SELECT * FROM w.submitted_notebook WHERE assignment_id IN "
                    f"({mine.format(db='w.')})", args)
        for table in ("grade", "comment"):
            con.execute(f"INSERT INTO main.{table} SELECT * FROM w.{table} WHERE notebook_id IN "
                        f"({notebooks.format(db='w.')})", args)


# What every graded kernel prints when it starts (ipykernel's notes on TCP and Ctrl-C): not worth a line per kernel.
KERNEL_BANNER = re.compile(r"Kernel is running over TCP|NOTE: When using the `ipython kernel`|To exit, you will have to|"
                           r"\"quit\" from a client|To read more about this, see|To connect another client|--existing ")


def autograde_in_parallel(a: str, students: list[str], jobs: int, options: list[str], env: dict) -> int:
    """Autograde ``students``' submissions of ``a`` in ``jobs`` nbgrader processes at once, each with its own copy
    of the gradebook (merged back as each finishes) and its share of the cores for the kernels' threads."""
    work = ROOT / "build" / "autograde" / a
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, cores() // jobs))
    workers = []
    for i in range(jobs):
        group = students[i::jobs]
        db = work / f"worker{i}.db"
        shutil.copy2(ROOT / "gradebook.db", db)
        others = sorted(set(students) - set(group)) + flagged_or_absent(a, students)
        log = (work / f"worker{i}.log").open("w")
        cmd = [PY, "-m", "nbgrader", "autograde", a, "--force", "--log-level=WARN", *options,
               f"--CourseDirectory.db_url=sqlite:///{db}"]
        if others:
            cmd.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
        proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=course_env(**env, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads))
        workers.append((proc, log, db, group))
    code = 0
    for i, (proc, log, db, group) in enumerate(workers):
        rc = proc.wait()
        log.close()
        for line in (work / f"worker{i}.log").read_text().splitlines():
            if line.strip() and not KERNEL_BANNER.search(line):
                print(f"    [worker {i}] {line}", flush=True)
        merge_gradebook(db, a, group)
        code = code or rc
    return code


def regrade_missing(a: str, students: list[str], options: list[str], env: dict) -> int:
    """Autograde again, one at a time, the submissions of ``a`` that nbgrader wrote no graded notebook for;
    0 when every one of them is graded now."""
    missing = [s for s in students if not any((ROOT / "autograded" / s / a).glob("*.ipynb"))]
    if not missing:
        return 0
    say(f"{a}: grading again, one at a time, what was not graded: {', '.join(missing)}")
    code = 0
    for s in missing:
        code = run([PY, "-m", "nbgrader", "autograde", a, "--force", "--log-level=WARN", *options,
                    f"--CourseDirectory.student_id={s}"], cwd=ROOT, env=course_env(**env)) or code
    return code


def flagged_or_absent(a: str, graded: list[str]) -> list[str]:
    """Students with a folder for ``a`` in submitted/ who are not being graded (withheld by the scan)."""
    return sorted({p.parent.name for p in (ROOT / "submitted").glob(f"*/{a}")} - set(graded))


def cmd_autograde(args) -> int:
    setup()
    if not (ROOT / "submitted").is_dir():
        sys.exit("[course] no submitted/ folder: put submissions in submitted/<student>/<assignment>/ "
                 "(nbgrader collect does this) and run again")
    grade_flagged = "--grade-flagged" in args
    args = [x for x in args if x != "--grade-flagged"]
    jobs = cores()
    if "--jobs" in args:
        i = args.index("--jobs")
        try:
            jobs = int(args[i + 1])
            assert jobs >= 1
        except (IndexError, ValueError, AssertionError):
            sys.exit("[course] usage: python3 course.py autograde [--jobs N] [--grade-flagged] [ID ...]")
        del args[i:i + 2]
    ids = assignment_ids(args)
    unreleased = [a for a in ids if not gradebook_has(a)]
    if unreleased:
        sys.exit(f"[course] {', '.join(unreleased)} not in the gradebook yet: nbgrader grades against the release "
                 f"it recorded, so run python3 course.py release {' '.join(unreleased)} first")
    options, env = sandbox_kernel()
    code = 0
    for a in ids:
        say(f"autograding every submission of {a}")
        withheld = [] if grade_flagged else flagged_students(a)
        students = sorted({p.parent.name for p in (ROOT / "submitted").glob(f"*/{a}")} - set(withheld))
        n_jobs = min(jobs, len(students))
        t0 = time.time()
        if n_jobs > 1:
            say(f"{a}: {len(students)} submissions in {n_jobs} parallel nbgrader processes")
            rc = autograde_in_parallel(a, students, n_jobs, options, env)
        else:
            exclude = [f"--CourseDirectory.student_id_exclude={','.join(withheld)}"] if withheld else []
            rc = run([PY, "-m", "nbgrader", "autograde", a, "--force", "--log-level=WARN", *options, *exclude],
                     cwd=ROOT, env=course_env(**env))
        # nbgrader reports a failed submission (e.g. an unreadable notebook) by student name and carries on;
        # so do we: one bad submission must not stop the other assignments from being graded. A kernel that
        # dies or fails to start under load also fails a submission, through no fault of its own: those left
        # ungraded are graded once more, one at a time, before anything is reported.
        if rc != 0:
            rc = regrade_missing(a, students, options, env)
        if rc != 0:
            say(f"some submissions of {a} could not be graded: see the messages above")
            code = 1
        if students:
            dt = time.time() - t0
            say(f"{a}: {len(students)} submission(s) in {dt:.0f} s ({dt / len(students):.1f} s each, "
                f"{max(n_jobs, 1)} at a time)")
    return code


def cmd_feedback(args) -> int:
    setup()
    code = 0
    for a in assignment_ids(args):
        if nbgrader("generate_feedback", a, "--force", "--log-level=WARN") != 0:
            code = 1
    code = nbgrader("export", "--to", "grades.csv", "--log-level=WARN") or code
    if code == 0:
        say("feedback in feedback/<student>/<assignment>/, grades in grades.csv")
    return code


def notebook_path(name: str) -> str | None:
    """A notebook named on the command line (from here, or from the repository root), as the tool gets it:
    relative to the repository root when it is inside, absolute otherwise; None when there is no such file."""
    for p in (Path(name), ROOT / name):
        if p.is_file():
            p = p.resolve()
            return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
    return None


def cmd_execute(args) -> int:
    """Re-execute lecture notebooks in place, in the fast budget and offline, as CI would. Progress bars are
    off so that committed outputs do not change from run to run (widget ids are random).

    With --full: every lecture and solution notebook (or the ones named) in the full budget, each written to
    build/full/<its path> (or --out DIR), never in place; it carries on past a failing notebook and ends with
    a table of times, also written to build/full/times.json. For a GPU machine."""
    args = list(args)
    full = "--full" in args
    args = [a for a in args if a != "--full"]
    out = ROOT / "build" / "full"
    if "--out" in args:
        i = args.index("--out")
        if not full or i + 1 >= len(args):
            sys.exit("[course] usage: python3 course.py execute --full [--out DIR] [NOTEBOOK ...]")
        out = Path(args[i + 1]).resolve()
        del args[i:i + 2]
    unknown = [a for a in args if a.startswith("-")]
    if unknown:
        sys.exit(f"[course] execute does not know {' '.join(unknown)} (it takes --full, --out DIR, --here)")
    missing = [a for a in args if notebook_path(a) is None]
    if missing:
        sys.exit(f"[course] no such notebook: {', '.join(missing)}")
    args = [notebook_path(a) for a in args]
    setup()
    tool = ROOT / "tools" / "execute_notebooks.py"
    if not full:
        notebooks = args or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "lectures").glob("*.ipynb"))
        return run([PY, tool, *notebooks], cwd=ROOT,
                   env=course_env(COURSE_BUDGET="fast", COURSE_OFFLINE="1", TQDM_DISABLE="1"))
    notebooks = args or sorted(str(p.relative_to(ROOT)) for p in
                               [*(ROOT / "lectures").glob("*.ipynb"), *(ROOT / "solutions").glob("*/*.ipynb")])
    say(f"running {len(notebooks)} notebook(s) in the full budget; executed copies go to {out}")
    code = run([PY, tool, "--out", out, "--timeout", "7200", *notebooks], cwd=ROOT,
               env=course_env(COURSE_BUDGET="full", TQDM_DISABLE="1"))
    if code != 0:
        say("some notebooks failed: see the table above (each failed copy stops at its failing cell)")
    return code


def cmd_results(args) -> int:
    setup()
    return run([PY, ROOT / "tools" / "results.py", *args], cwd=ROOT, env=course_env(TQDM_DISABLE="1"))


COMMANDS = {"lab": cmd_lab, "test": cmd_test, "check": cmd_check, "student": cmd_student, "release": cmd_release,
            "autograde": cmd_autograde,
            "feedback": cmd_feedback, "execute": cmd_execute, "results": cmd_results, "setup": lambda args: setup() or 0}


def main(argv) -> int:
    global HERE, PY
    if "--here" in argv[1:]:
        HERE, PY = True, Path(sys.executable)
        argv = [argv[0]] + [a for a in argv[1:] if a != "--here"]
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    if STUDENT and argv[0] in INSTRUCTOR_ONLY:
        print(f"[course] this is the student copy of the course: `{argv[0]}` is an instructor's command. "
              "Yours are `python3 course.py lab` and `python3 course.py test`.")
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
