"""Flag submissions that tamper with the grader, so that their grade is withheld for the instructor to review.

A sandbox (tools/sandboxed_kernel.py) keeps a graded kernel away from the instructor's files, but not from itself:
a notebook can still change how the kernel reports errors, replace the library functions the tests compare with,
or dig the reference answers out of ``course_lib`` around ``forbid``. Answers to this course's assignments need
none of that, so the code a student wrote is read (not run) and these are flagged:

* assigning to, deleting or ``setattr``-ing an attribute of an imported module or of a library object
  (``torch.allclose = ...``, ``np.isclose = ...``, ``course_lib.grading.check_close = ...``);
* touching the machinery of functions, modules and the kernel: ``__code__``, ``__globals__``, ``__builtins__``,
  ``__closure__``, ``__wrapped__``, ``sys.modules``, ``sys.excepthook``, ``sys.stderr``/``sys.stdout``,
  ``get_ipython``, ``IPython``, ``showtraceback``, ``set_custom_exc``, ``ctypes``, ``gc``, ``importlib``,
  ``runpy``, ``subprocess``, ``os.system``, ``inspect.getsource`` of course code;
* ``exec``, ``eval``, ``compile`` and ``__import__``;
* paths that lead to the instructor's files (``solutions``, ``gradebook``, ``autograded``, ``submitted``, ``.git``).

Only cells a student can change are read: locked cells (the tests) are restored by nbgrader before grading.

    python tools/scan_submissions.py NOTEBOOK ...       print the findings, exit 1 if any
"""
from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

MODULE_ROOTS = {"torch", "numpy", "np", "math", "scipy", "F", "nn", "course_lib", "sys", "builtins", "warnings",
                "IPython", "nbgrader", "os", "inspect", "functools", "types", "tqdm", "matplotlib", "plt"}
NAMES = {"__code__": "a function's code object", "__globals__": "a function's globals",
         "__builtins__": "the builtins", "__closure__": "a function's closure", "__wrapped__": "a wrapped function",
         "__defaults__": "a function's defaults", "__kwdefaults__": "a function's defaults",
         "excepthook": "the kernel's error handler", "showtraceback": "the kernel's error reporting",
         "set_custom_exc": "the kernel's error reporting", "get_ipython": "the kernel itself",
         "InteractiveShell": "the kernel itself", "run_cell": "the kernel itself", "modules": "sys.modules",
         "ctypes": "raw memory access", "gc": "the garbage collector's object graph", "importlib": "module loading",
         "runpy": "module loading", "subprocess": "other processes", "system": "a shell command",
         "getsource": "reading source code", "exec": "running code from text", "eval": "running code from text",
         "compile": "running code from text", "__import__": "importing by name"}
PATH_WORDS = ("solutions", "gradebook", "autograded", "submitted", ".git")


@dataclass
class Finding:
    cell: str
    line: int
    code: str
    why: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.code.strip()}   <- {self.why}"


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


class _Scanner(ast.NodeVisitor):
    def __init__(self, imported: set[str]):
        self.modules = MODULE_ROOTS | imported
        self.found: list[tuple[int, str]] = []

    def flag(self, node: ast.AST, why: str) -> None:
        self.found.append((getattr(node, "lineno", 0), why))

    def _target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, ast.Attribute) and _root_name(target) in self.modules:
            self.flag(target, f"{verb} an attribute of the module {_root_name(target)}: tests rely on the originals")

    def visit_Assign(self, node):
        for t in node.targets:
            for sub in ast.walk(t):
                self._target(sub, "replaces")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target, "changes")
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._target(node.target, "replaces")
        self.generic_visit(node)

    def visit_Delete(self, node):
        for t in node.targets:
            self._target(t, "deletes")
        self.generic_visit(node)

    def visit_Call(self, node):
        fn = node.func
        name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
        if name in ("setattr", "delattr") and node.args and _root_name(node.args[0]) in self.modules:
            self.flag(node, f"{name} on the module {_root_name(node.args[0])}: tests rely on the originals")
        # m.modules() is nn.Module's iterator over submodules (an honest answer may loop over a critic's layers);
        # sys.modules is a dict and is never called
        if isinstance(fn, ast.Attribute) and fn.attr == "modules" and not node.args:
            self._method_calls = getattr(self, "_method_calls", set()) | {id(fn)}
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in NAMES:
            self.flag(node, f"uses {node.id} ({NAMES[node.id]})")

    def visit_Attribute(self, node):
        if node.attr == "modules" and id(node) in getattr(self, "_method_calls", set()):
            self.generic_visit(node)
            return
        if node.attr in NAMES:
            self.flag(node, f"uses .{node.attr} ({NAMES[node.attr]})")
        self.generic_visit(node)

    def visit_alias(self, node):
        top = node.name.split(".")[0]
        if top in NAMES or node.name.split(".")[-1] in NAMES:
            self.flag(node, f"imports {node.name} ({NAMES.get(top) or NAMES[node.name.split('.')[-1]]})")

    def visit_Constant(self, node):
        if isinstance(node.value, str) and any(w in node.value for w in PATH_WORDS) and ("/" in node.value or
                                                                                          node.value.endswith(".db")):
            self.flag(node, "a path to the instructor's files")


def _imported_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def scan_cells(cells) -> list[Finding]:
    """Findings in the code cells a student can change (``cells``: nbformat cells or dicts)."""
    student = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or cell.get("metadata", {}).get("nbgrader", {}).get("locked"):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        student.append((cell.get("id") or f"#{i}", source))
    trees, findings = [], []
    for cid, source in student:
        try:
            trees.append((cid, source, ast.parse(source)))
        except SyntaxError:
            continue  # magics or broken code: the cell fails on its own when graded
    imported = set().union(*(_imported_names(t) for _, _, t in trees)) if trees else set()
    for cid, source, tree in trees:
        scanner = _Scanner(imported)
        scanner.visit(tree)
        lines = source.splitlines()
        for line, why in sorted(set(scanner.found)):
            findings.append(Finding(cid, line, lines[line - 1] if 0 < line <= len(lines) else "", why))
    return findings


def scan_notebook(path: str | Path) -> list[Finding]:
    nb = json.loads(Path(path).read_text())
    return scan_cells(nb.get("cells", []))


def main(argv) -> int:
    if not argv:
        print(__doc__)
        return 2
    flagged = 0
    for p in argv:
        try:
            found = scan_notebook(p)
        except (OSError, ValueError) as exc:
            print(f"{p}: unreadable ({exc}); nbgrader reports it too")
            continue
        if found:
            flagged += 1
            print(f"{p}: {len(found)} finding(s)")
            for f in found:
                print(f"  {f}")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
