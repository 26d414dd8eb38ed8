"""The full budget on a lent GPU machine, in two steps (a maintainer tool, not part of the course_lib package).

That machine has Python 3.12 with torch, numpy, scipy, matplotlib, pandas and scikit-learn, but not the notebook
tools (nbclient, ipykernel, ...) or mlxtend, and it cannot download anything. So:

    .venv/bin/python tools/device_kit.py wheels          here: the missing packages as cp312 wheels in .whl/
                                                         (git-ignored)

then, there, carrying .whl (the device tool's `carry`), one command of at most 10 minutes:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \\
        && PYTHONPATH=/tmp/site python3 tools/device_kit.py notebooks [NOTEBOOK ...]
    PYTHONPATH=/tmp/site python3 tools/device_kit.py results [MODEL ...]

`notebooks` executes lectures and solutions in the full budget (`course.py execute --full --here`) and leaves
in $OUT the table of times and one archive of the executed notebooks (the device tool brings back at most 8
files). `results` runs tools/results.py in the full budget and leaves full.json in $OUT. Ten minutes a call do
not hold every model: run them in groups, then, here,
`.venv/bin/python tools/results.py --merge A/full.json B/full.json` writes results/full.json and the README's table.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the notebooks need beyond the machine's image (its package list: /work/.library/device/KINDS.md). The
# wheels are these and every requirement they pull in that the image lacks, at the versions of this .venv.
ROOTS = ["nbclient", "ipykernel", "ipywidgets", "nbformat", "mlxtend"]
ON_THE_MACHINE = set("""attrs certifi charset-normalizer contourpy cycler filelock fonttools fsspec idna jinja2 joblib
kiwisolver markupsafe matplotlib mpmath networkx numpy packaging pandas pillow pip psutil pygments pyparsing
python-dateutil pyyaml requests scikit-learn scipy setuptools six sympy threadpoolctl torch torchvision tqdm
triton typing-extensions tzdata urllib3 wheel anyio h11 httpx httpcore""".split())
PLATFORMS = ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_24_x86_64", "manylinux_2_27_x86_64",
             "manylinux_2_28_x86_64", "manylinux_2_31_x86_64", "manylinux_2_34_x86_64", "manylinux_2_35_x86_64",
             "manylinux1_x86_64"]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure() -> dict[str, str]:
    """{package: version} for ROOTS and what they require, minus ON_THE_MACHINE, as installed here."""
    from importlib.metadata import PackageNotFoundError, distribution

    need, todo = {}, list(ROOTS)
    while todo:
        name = norm(todo.pop())
        if name in need or name in ON_THE_MACHINE:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:  # a requirement for another platform (appnope on macOS)
            continue
        need[name] = dist.version
        todo += [re.split(r"[ <>=!~;\[(]", r, maxsplit=1)[0] for r in dist.requires or [] if "extra ==" not in r]
    return need


def cmd_wheels(_args) -> int:
    pins = [f"{k}=={v}" for k, v in sorted(closure().items())]
    dest = ROOT / ".whl"
    dest.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
           "--implementation", "cp", *[x for p in PLATFORMS for x in ("--platform", p)], "-d", str(dest), *pins]
    code = subprocess.call(cmd)
    size = sum(p.stat().st_size for p in dest.glob("*.whl")) / 2**20
    print(f"[device_kit] {len(pins)} packages, {len(list(dest.glob('*.whl')))} wheels in .whl/ ({size:.0f} MB)")
    return code


def out_dir() -> Path:
    out = Path(os.environ.get("OUT", ROOT / "build" / "device"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def cmd_notebooks(args) -> int:
    out, work = out_dir(), ROOT / "build" / "full"
    code = subprocess.call([sys.executable, str(ROOT / "course.py"), "execute", "--full", "--here", "--out", str(work),
                            *args.paths], cwd=ROOT)
    with tarfile.open(out / "full_notebooks.tar.gz", "w:gz") as tar:
        for nb in sorted(work.rglob("*.ipynb")):
            tar.add(nb, arcname=str(nb.relative_to(work)))
    if (work / "times.json").is_file():
        (out / "times.json").write_text((work / "times.json").read_text())
    print(f"[device_kit] executed notebooks and times in {out}")
    return code


def cmd_results(args) -> int:
    out = out_dir()
    return subprocess.call([sys.executable, str(ROOT / "tools" / "results.py"), "--budget", "full", "--no-readme",
                            "--out", str(out), *args.models], cwd=ROOT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("wheels", help="here: download the wheels the GPU machine lacks into .whl/")
    nb = sub.add_parser("notebooks", help="there: execute notebooks in the full budget")
    nb.add_argument("paths", nargs="*")
    res = sub.add_parser("results", help="there: the results runner in the full budget")
    res.add_argument("models", nargs="*")
    args = parser.parse_args(argv)
    return {"wheels": cmd_wheels, "notebooks": cmd_notebooks, "results": cmd_results}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
