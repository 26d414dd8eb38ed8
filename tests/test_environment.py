"""The environment files agree, the package builds, every import is a declared requirement, and the README
documents the commands CI runs."""
import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins(lines):
    return {re.split(r"==", ln)[0].strip().lower(): ln.strip() for ln in lines
            if ln.strip() and not ln.strip().startswith("#")}


def test_environment_yml_matches_requirements():
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = pins(pip_section)
    assert conda == req, ("environment.yml and requirements.txt pin different packages: only in requirements "
                          f"{sorted(set(req.items()) - set(conda.items()))}, only in environment.yml "
                          f"{sorted(set(conda.items()) - set(req.items()))}")
    assert all("==" in v for v in req.values()), "every requirement must be pinned with =="
    py = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(py) == 1 and re.fullmatch(r"python=3\.1\d", py[0]), f"environment.yml should pin python=3.1x, has {py}"


def test_torch_pair_is_pinned_and_installed():
    import torch
    import torchvision

    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert torch.__version__.split("+")[0] == req["torch"].split("==")[1]
    assert torchvision.__version__.split("+")[0] == req["torchvision"].split("==")[1]
    from torchvision.ops import nms  # fails when torch and torchvision do not match
    assert nms is not None


def test_package_builds_a_wheel_with_course_lib(tmp_path):
    # Build from a clean copy of what the package is made of: a build/ or *.egg-info left in the checkout
    # by an earlier build could carry files that no longer exist into the wheel.
    src = tmp_path / "src"
    shutil.copytree(ROOT / "course_lib", src / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, f"pip wheel failed:\n{r.stderr[-2000:]}"
    wheel = next(tmp_path.glob("course_lib-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("course_lib/__init__.py", "course_lib/data.py", "course_lib/vae.py",
                   "course_lib/weights/feature_net.pt"):
        assert module in names, f"{module} is missing from the wheel"
    for tool in ("course_lib/notebooks.py", "course_lib/train_feature_net.py"):
        assert tool not in names, f"{tool} is a maintainer tool (tools/), not part of the package"
    assert not [n for n in names if n.startswith("tools/")], "tools/ must stay out of the wheel"


def test_readme_commands_and_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 course.py test" in readme and "python3 course.py test" in ci
    assert "python3 course.py lab" in readme
    for cmd in ("release", "autograde", "feedback"):
        assert f"python3 course.py {cmd}" in readme, f"the README should show `python3 course.py {cmd}`"


# Top-level module -> distribution, for every third-party import the course makes. IPython comes with
# ipykernel (a requirement), so it counts as ipykernel.
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "IPython": "ipykernel", "PIL": "pillow"}
LOCAL = {"course_lib", "submissions", "conftest", "tools", *(p.stem for p in (ROOT / "tools").glob("*.py"))}


def _imports(source: str) -> set[str]:
    """Top-level module names of every absolute import in ``source`` (anywhere, also inside functions)."""
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _code_of(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    lines = [ln for c in cells if c["cell_type"] == "code"
             for ln in "".join(c["source"]).splitlines() + [""]]
    # IPython magics and shell escapes are not Python
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)


def test_every_import_is_a_declared_requirement():
    files = [*sorted(ROOT.glob("lectures/*.ipynb")), *sorted(ROOT.glob("solutions/*/*.ipynb")),
             *sorted(ROOT.glob("tests/*.py")), *sorted(ROOT.glob("course_lib/*.py")), *sorted(ROOT.glob("tools/*.py"))]
    assert any(f.suffix == ".ipynb" for f in files) and any(f.parent.name == "tests" for f in files)
    required = set(pins((ROOT / "requirements.txt").read_text().splitlines()))
    undeclared = {}
    for f in files:
        for module in _imports(_code_of(f)) - set(sys.stdlib_module_names) - LOCAL:
            dist = DISTRIBUTION.get(module, module).lower().replace("_", "-")
            if dist not in required:
                undeclared.setdefault(f"{module} (distribution {dist})", []).append(str(f.relative_to(ROOT)))
    assert not undeclared, ("imported but not in requirements.txt (add a pin there and in environment.yml): "
                            + "; ".join(f"{m} in {', '.join(fs)}" for m, fs in sorted(undeclared.items())))


def test_reading_a_notebook_skips_the_iri_grammar():
    """course.py setup declines rfc3987_syntax's import (it builds a Lark grammar, 1.4 s per nbgrader command);
    notebooks still validate, with jsonschema's own fallback for the package's absence."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    if not venv_python.exists():
        import pytest
        pytest.skip("no .venv here (course.py --here)")
    r = subprocess.run([str(venv_python), "-c", "import sys, nbformat, jsonschema; "
                        "nbformat.validate(nbformat.read('lectures/01_autoencoders.ipynb', as_version=4)); "
                        "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "False", "rfc3987_syntax was imported: is .venv's course_skip_iri_grammar.pth missing?"
