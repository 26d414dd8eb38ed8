"""Start a Jupyter kernel that a graded notebook cannot use to reach the instructor's files.

nbgrader runs every submission in a kernel of the grading user, inside the course directory. Started through this
launcher (``course.py autograde`` installs it as the kernel ``dgm-sandbox``), the kernel sees:

* the course directory read-only, so it cannot change the gradebook, ``course_lib``, other submissions or the
  releases, or leave anything behind for a later submission;
* none of the instructor's files: ``solutions/`` (reference answers and hidden tests), ``submitted/``, ``tests/``,
  ``feedback/``, ``build/``, ``flagged/``, ``.git/``, the other students' folders in ``autograded/``,
  ``gradebook.db`` and ``grades.csv`` are replaced by empty ones;
* the functions graded tests compare and evaluate with as they were when it started: ``course_lib.grading``'s
  guard records them before any cell runs and puts them back before every cell (a test during which they are
  replaced fails);
* a private, empty ``/tmp`` and home directory that vanish with it (when the course itself lives under /tmp, as
  in the test suite's temporary copies, it is bound back in, read-only; without bubblewrap /tmp is then read-only).

Two mechanisms, the first that works: bubblewrap (``bwrap``, ``apt install bubblewrap``), which also makes the
whole file system read-only; or, for root, a private mount namespace (``unshare -m`` from util-linux).
``COURSE_SANDBOX=bwrap|unshare`` insists on one, ``COURSE_SANDBOX=off`` on none. ``--probe`` prints the mechanism
that would be used, or ``none`` (then ``course.py autograde`` warns loudly and grades without a sandbox).

    python tools/sandboxed_kernel.py --root COURSE -f CONNECTION_FILE     (the kernelspec's argv)
    python tools/sandboxed_kernel.py --probe
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

# build/ holds full-budget runs of the solutions and the parallel autograde's copies of the gradebook; flagged/
# the tampering scan's reports on other students.
HIDDEN_DIRS = ("solutions", "submitted", "tests", "feedback", ".git", "exchange", "release", "source", "build",
               "flagged")
HIDDEN_FILES = ("gradebook.db", "grades.csv")
# Before any cell runs: remember what graded tests rely on, and put it back before every cell (course_lib.grading).
GUARD = "--IPKernelApp.exec_lines=__import__('course_lib.grading').grading.guard_kernel()"


def hidden(root: Path, cwd: Path) -> tuple[list[Path], list[Path]]:
    """The instructor's folders and files under ``root`` that the kernel must not see, for a notebook in ``cwd``."""
    dirs = [root / d for d in HIDDEN_DIRS if (root / d).is_dir()]
    autograded = root / "autograded"
    if autograded.is_dir():
        mine = cwd.resolve().relative_to(autograded.resolve()).parts[0] if cwd.resolve().is_relative_to(
            autograded.resolve()) else None
        dirs += [p for p in sorted(autograded.iterdir()) if p.is_dir() and p.name != mine]
    files = [root / f for f in HIDDEN_FILES if (root / f).is_file()]
    return dirs, files


def under(path: Path, parent: Path) -> bool:
    return path.resolve().is_relative_to(parent.resolve())


def read_only(root: Path) -> list[Path]:
    """What the unshare sandbox makes read-only: the course, the course_lib the kernel will import (an editable
    install may point elsewhere), and the Python environment."""
    import importlib.util

    spec = importlib.util.find_spec("course_lib")
    paths = [root]
    if spec is not None and spec.origin:
        paths.append(Path(spec.origin).resolve().parent)
    paths.append(Path(sys.prefix).resolve())
    kept: list[Path] = []
    for p in paths:
        if p.is_dir() and not any(under(p, k) for k in kept):
            kept.append(p)
    return kept


def bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    r = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"],
                       capture_output=True)
    return r.returncode == 0


def unshare_works() -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-m", "--fork", "sh", "-c",
                        "mount --make-rprivate / && d=$(mktemp -d) && mount --bind \"$d\" \"$d\" && "
                        "mount -o remount,bind,ro \"$d\" \"$d\" && umount \"$d\"; rmdir \"$d\""],
                       capture_output=True)
    return r.returncode == 0


def mechanism() -> str:
    """``COURSE_SANDBOX``: unset (the first that works), ``bwrap`` or ``unshare`` (only that one), ``off``."""
    wanted = os.environ.get("COURSE_SANDBOX", "").strip().lower()
    if wanted in ("off", "0", "no", "false"):
        return "none"
    if wanted in ("", "bwrap") and bwrap_works():
        return "bwrap"
    if wanted in ("", "unshare") and unshare_works():
        return "unshare"
    return "none"


def kernel_env(home: str) -> dict:
    env = dict(os.environ)
    # ipykernel polls the PID it is given here; inside a PID namespace that PID means nothing, and the launcher
    # itself stays the parent (bwrap --die-with-parent, unshare --fork) to take the kernel down with it.
    env.pop("JPY_PARENT_PID", None)
    env.update(HOME=home, IPYTHONDIR=f"{home}/.ipython", MPLCONFIGDIR=f"{home}/.matplotlib", TMPDIR="/tmp",
               XDG_CACHE_HOME=f"{home}/.cache", JUPYTER_RUNTIME_DIR=f"{home}/.runtime")
    return env


def run_bwrap(root: Path, cwd: Path, connection: Path) -> int:
    """The whole file system read-only, a private /tmp (the course and the environment bound back in, read-only,
    when they live under /tmp), the instructor's files hidden."""
    dirs, files = hidden(root, cwd)
    home = "/tmp/home"
    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm",
            "--tmpfs", "/tmp", "--dir", home, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
    kept = []
    for keep in (root, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()):
        if under(keep, Path("/tmp")) and not any(under(keep, k) for k in kept):
            args += ["--ro-bind", str(keep), str(keep)]
            kept.append(keep)
    for d in dirs:
        args += ["--tmpfs", str(d), "--remount-ro", str(d)]
    for f in files:
        args += ["--ro-bind", "/dev/null", str(f)]
    args += ["--ro-bind", str(connection), f"{home}/kernel.json", "--chdir", str(cwd),
             sys.executable, "-m", "ipykernel_launcher", "-f", f"{home}/kernel.json", GUARD]
    # exec, not a child: the kernel manager's signals (interrupt, shutdown) reach the sandbox itself
    os.execvpe("bwrap", args, kernel_env(home))


def run_unshare(root: Path, cwd: Path, connection: Path) -> int:
    """As root, in a private mount namespace: the course, the course_lib the kernel imports and the environment
    read-only, the instructor's files hidden, a private /dev/shm for the kernel's home, and /tmp either fresh or,
    when the course lives under it, read-only."""
    dirs, files = hidden(root, cwd)
    q = lambda p: "'" + str(p).replace("'", "'\\''") + "'"  # noqa: E731
    home = "/dev/shm/home"
    steps = ["set -e", "mount --make-rprivate /", f"conn=$(cat {q(connection)})"]
    if any(under(p, Path("/tmp")) for p in (root, Path(sys.prefix), Path(sys.base_prefix))):
        steps += ["mount --bind /tmp /tmp", "mount -o remount,bind,ro /tmp /tmp"]
    else:
        steps += ["mount -t tmpfs tmpfs /tmp"]
    for keep in read_only(root):
        steps += [f"mount --bind {q(keep)} {q(keep)}", f"mount -o remount,bind,ro {q(keep)} {q(keep)}"]
    steps += [f"mount -t tmpfs -o ro,size=4k tmpfs {q(d)}" for d in dirs]
    steps += [f"mount --bind /dev/null {q(f)}" for f in files]
    steps += ["mkdir -p /dev/shm", "mount -t tmpfs tmpfs /dev/shm", f"mkdir -p {home}",
              f"printf '%s' \"$conn\" > {home}/kernel.json",
              f"cd {q(cwd)}",  # re-resolve the working directory through the new mounts
              f"exec {q(sys.executable)} -m ipykernel_launcher -f {home}/kernel.json {q(GUARD)}"]
    os.execvpe("unshare", ["unshare", "-m", "--fork", "sh", "-c", "\n".join(steps)], kernel_env(home))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--probe", action="store_true", help="print the mechanism that would be used, or none")
    p.add_argument("--root", type=Path, help="the course directory")
    p.add_argument("-f", dest="connection", type=Path, help="the kernel's connection file")
    a = p.parse_args(argv)
    how = mechanism()
    if a.probe:
        print(how)
        return 0
    if a.root is None or a.connection is None:
        p.error("--root and -f are needed to start a kernel")
    root, cwd = a.root.resolve(), Path.cwd()
    if how == "bwrap":
        return run_bwrap(root, cwd, a.connection.resolve())
    if how == "unshare":
        return run_unshare(root, cwd, a.connection.resolve())
    print("[sandbox] no sandbox is available (install bubblewrap, or grade as root): refusing to start a graded "
          "kernel with access to the instructor's files. COURSE_SANDBOX=off grades without one.", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
