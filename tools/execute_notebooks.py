"""Execute notebooks the way CI does, and time them (a maintainer tool, not part of the course_lib package).

    python tools/execute_notebooks.py NOTEBOOK ...                     in place, stop at the first error
    python tools/execute_notebooks.py --out DIR [--times FILE] NOTEBOOK ...
                                                                       copies under DIR, keep going, report

In place (what ``python3 course.py execute`` does), outputs are written back (with figures) so that lectures
are committed executed. With ``--out`` (what ``python3 course.py execute --full`` does), each executed notebook
is written to ``DIR/<its path relative to the repository>`` and the committed file is never touched; a failing
notebook is written up to its failing cell, the others still run, and a table of times (also saved as
``FILE``, default ``DIR/times.json``, with each notebook's three slowest cells) closes the run. The budget is
whatever ``COURSE_BUDGET`` says. Either way each notebook's line names its slowest cells, from the timestamps
nbclient records (the README's Time table quotes them).

Every notebook runs in its own folder as working directory, as nbgrader and nbval run them. Widget state and
execution timestamps are dropped: they change on every run and make diffs unreadable.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def _clean(nb) -> None:
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def cell_seconds(nb) -> list[dict]:
    """Every code cell that ran, slowest first: {"cell": its number (from 1), "seconds", "source": its first
    line, "section": the last Markdown heading above it}, timed from nbclient's timestamps (input received to
    reply sent) before ``_clean`` drops them."""
    rows, section = [], ""
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "markdown":
            heads = [ln.lstrip("#").strip() for ln in cell.source.splitlines() if ln.startswith("#")]
            section = heads[-1][:60] if heads else section
        stamps = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or not {"iopub.execute_input", "shell.execute_reply"} <= set(stamps):
            continue
        start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
        first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
        rows.append({"cell": i, "seconds": round((end - start).total_seconds(), 1), "source": first[:60],
                     "section": section})
    return sorted(rows, key=lambda r: -r["seconds"])


def slowest(cells: list[dict], n: int = 3) -> str:
    """'cell 12 15.4 s (3. Training: train(...)), ...' for the n slowest of cell_seconds' rows."""
    return ", ".join(f"cell {c['cell']} {c['seconds']:.1f} s ({c['section'] + ': ' if c['section'] else ''}"
                     f"{c['source']})" for c in cells[:n])


def execute(path: str | os.PathLike, timeout: int = 600, write: bool = True, out: str | os.PathLike | None = None,
            cells: list | None = None) -> float:
    """Run every cell of the notebook at ``path`` in its own folder; return the wall time in seconds.

    The executed notebook is written back to ``path`` (``write``), or to ``out`` when given; on an error it is
    written there up to the failing cell before the error propagates (never back to ``path``). A list passed as
    ``cells`` receives cell_seconds' rows (the cells that ran, slowest first)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    t0 = time.time()
    try:
        client.execute()
    finally:
        seconds = time.time() - t0
        if cells is not None:
            cells.extend(cell_seconds(nb))
        _clean(nb)
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
    if write and out is None:
        nbformat.write(nb, path)
    return seconds


def copy_path(notebook: Path, out_dir: Path) -> Path:
    """Where the executed copy of ``notebook`` goes: its path relative to the repository under ``out_dir``
    (just its name for a notebook outside the repository)."""
    p = notebook.resolve()
    try:
        rel = p.relative_to(ROOT)
    except ValueError:
        rel = Path(p.name)
    return out_dir / rel


def last_line(err: BaseException) -> str:
    if isinstance(err, CellExecutionError) and getattr(err, "ename", None):
        text = f"{err.ename}: {err.evalue}"
    else:
        text = f"{type(err).__name__}: {err}"
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines() if ln.strip()]
    return lines[-1] if lines else type(err).__name__


def hardware() -> str:
    try:
        import torch
        if torch.cuda.is_available():
            return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}), torch {torch.__version__}"
        return f"CPU, {os.cpu_count()} cores, torch {torch.__version__}"
    except Exception:  # noqa: BLE001 - the report must not fail for want of torch
        return f"CPU, {os.cpu_count()} cores"


def run_all(notebooks: list[str], out_dir: Path, times: Path, timeout: int) -> int:
    """Execute every notebook into ``out_dir``, past failures; print a table, write ``times``; 1 if any failed."""
    rows = []
    for nb in notebooks:
        src = Path(nb)
        dest = copy_path(src, out_dir)
        print(f"{nb}: running ...", flush=True)
        t0, cells = time.time(), []
        try:
            execute(src, timeout=timeout, out=dest, cells=cells)
            row = {"notebook": nb, "seconds": round(time.time() - t0, 1), "ok": True, "error": None}
        except Exception as err:  # noqa: BLE001 - report and carry on with the next notebook
            row = {"notebook": nb, "seconds": round(time.time() - t0, 1), "ok": False, "error": last_line(err)}
        row["output"], row["slowest_cells"] = str(dest), cells[:3]
        rows.append(row)
        print(f"{nb}: {'ok' if row['ok'] else 'FAILED'} in {row['seconds']:.1f} s -> {dest}"
              + (f"; slowest: {slowest(cells)}" if cells else ""), flush=True)
    width = max([len("notebook")] + [len(r["notebook"]) for r in rows])
    print(f"\n{'notebook':<{width}}  {'seconds':>8}  result")
    for r in rows:
        result = "ok" if r["ok"] else f"FAILED  {r['error']}"
        print(f"{r['notebook']:<{width}}  {r['seconds']:>8.1f}  {result}")
    failed = sum(not r["ok"] for r in rows)
    total = sum(r["seconds"] for r in rows)
    print(f"{len(rows) - failed} ok, {failed} failed, {total:.0f} s in all")
    report = {"budget": os.environ.get("COURSE_BUDGET", "(unset)"), "hardware": hardware(),
              "python": platform.python_version(), "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
              "total_seconds": round(total, 1), "notebooks": rows}
    times.parent.mkdir(parents=True, exist_ok=True)
    times.write_text(json.dumps(report, indent=2) + "\n")
    print(f"times written to {times}")
    return 1 if failed else 0


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--out", type=Path, help="write executed copies here instead of in place; keep going")
    parser.add_argument("--times", type=Path, help="where --out writes the times (default: OUT/times.json)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    if not args.notebooks:
        print(__doc__)
        return 2
    if args.out is None:
        if args.times:
            parser.error("--times needs --out")
        for p in args.notebooks:
            cells = []
            seconds = execute(p, timeout=args.timeout, cells=cells)
            print(f"{p}: executed in {seconds:.1f} s" + (f"; slowest: {slowest(cells)}" if cells else ""), flush=True)
        return 0
    return run_all(args.notebooks, args.out, args.times or args.out / "times.json", args.timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
