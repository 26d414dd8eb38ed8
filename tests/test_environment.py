"""The environment files agree, the package builds, and the README documents the commands CI runs."""
import re
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
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, f"pip wheel failed:\n{r.stderr[-2000:]}"
    wheel = next(tmp_path.glob("course_lib-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("course_lib/__init__.py", "course_lib/data.py", "course_lib/vae.py"):
        assert module in names, f"{module} is missing from the wheel"


def test_readme_commands_and_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 course.py test" in readme and "python3 course.py test" in ci
    assert "python3 course.py lab" in readme
    for cmd in ("release", "autograde", "feedback"):
        assert f"python3 course.py {cmd}" in readme, f"the README should show `python3 course.py {cmd}`"
