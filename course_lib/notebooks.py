"""Execute notebooks in place the way CI does, and time them.

    python -m course_lib.notebooks lectures/01_autoencoders.ipynb ...

Outputs are written back (with figures) so that lectures are committed executed. Widget state and
execution timestamps are dropped: they change on every run and make diffs unreadable.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: str | os.PathLike, timeout: int = 600, write: bool = True) -> float:
    """Run every cell of the notebook at ``path`` in its own folder; return the wall time in seconds."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.time()
    client.execute()
    seconds = time.time() - t0
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    if write:
        nbformat.write(nb, path)
    return seconds


def main(argv) -> int:
    if not argv:
        print(__doc__)
        return 2
    for p in argv:
        print(f"{p}: executed in {execute(p):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
