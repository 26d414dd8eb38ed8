"""A probe of the results table's GANs with one thing changed: the generator's prior.

    python3 tools/probe_prior.py dcgan lsgan sngan wgangp --anchors 0 200 --seeds 0 1 2

Each run is a row of tools/results.py (same recipe, same budget, same measures on the same 500 test digits), its
seed set to one of ``--seeds``. With ``--anchors 0`` the prior is the usual N(0, I). With ``--anchors K`` it is
K fixed anchors mu_1..mu_K ~ N(0, spread^2 I), drawn once from the run's seed: a sample picks an anchor uniformly,
then z = mu_c + noise * eps: K bumps, far apart for their radius, instead of one. A continuous generator of a
connected prior has a connected support, so it draws, with some probability, images between separated modes
(Tanielian et al., 2020); with almost no prior mass between the bumps it can put those images where codes rarely
land (lecture 4's exercise 5). DeLiGAN (Gurumurthy et al., 2017) learns such a mixture, for small datasets; here
it is fixed. ``--ema D`` keeps a moving average of the generator's weights (decay D) and samples it, as the
self-conditioned row does. Besides the results table's measures, each run prints how far its samples' digit classes
(FeatureNet's reading) are from the test digits' shares (total variation: 0 for the same shares, 1 for disjoint)
and the share of samples between two digits (FeatureNet gives a second digit more than 10 %).
The README's results section reports what it gives. A maintainer tool, outside the course_lib package.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import torch

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import results as R  # noqa: E402
import train_pretrained as T  # noqa: E402
from course_lib import load_mnist  # noqa: E402
from course_lib import metrics as M  # noqa: E402
from course_lib.nets import Generator  # noqa: E402

# the rows whose trainer builds its generator with course_lib.pretrained.build (a ConvGenerator), and the MLP GAN
MODELS = ("gan", "dcgan", "lsgan", "wgan", "wgangp", "sngan")


class AnchoredGenerator(Generator):
    """``inner`` fed z = mu_c + noise * eps, with anchor c picked by the code's last coordinate u ~ N(0, 1)
    (c = floor(K * Phi(u)), so c is uniform): the sampling contract's N(0, I) codes, one dimension longer, draw
    from the anchored prior, and the course's training loops need no change."""

    def __init__(self, inner: Generator, k: int, spread: float, noise: float, seed: int):
        super().__init__()
        self.inner, self.z_dim, self.noise = inner, inner.z_dim + 1, noise
        anchors = torch.randn(k, inner.z_dim, generator=torch.Generator().manual_seed(seed)) * spread
        self.register_buffer("anchors", anchors)

    def anchor_of(self, z: torch.Tensor) -> torch.Tensor:
        k = len(self.anchors)
        return (torch.special.ndtr(z[:, -1]) * k).long().clamp(0, k - 1)

    def forward(self, z):
        return self.inner(self.anchors[self.anchor_of(z)] + self.noise * z[:, :-1])


def averaged(train_gan, decay: float):
    """``train_gan`` that keeps an exponential moving average of the generator's weights (BatchNorm's running
    statistics stay the latest) and leaves the average in the generator at the end. The average starts from the
    initial weights, whose share after t steps is decay^t: 0.99 suits rows of a thousand steps or more."""
    def train(G, D, *args, callback=None, **kwargs):
        average = copy.deepcopy(G)

        def step(i, G_, D_):
            T.average_weights_(average, G, decay)
            if callback is not None:
                callback(i, G_, D_)

        history = train_gan(G, D, *args, callback=step, **kwargs)
        with torch.no_grad():
            for p, pa in zip(G.parameters(), average.parameters()):
                p.copy_(pa)
        return history
    return train


def probe(name: str, seed: int, k: int, digits, spread: float = 3.0, noise: float = 1.0, ema: float = 0.0) -> dict:
    """The results row of ``name`` in the fast budget with the recipe's seed set to ``seed``, the anchored prior
    if k > 0 and a moving average of the generator's weights if ema > 0. Besides the table's measures: how far the
    samples' digit classes (FeatureNet's reading) are from the test digits' (total variation, 0 for the same
    shares), and the share of samples between two digits (FeatureNet gives a second digit more than 10 %, as in
    lecture 7, section 1). Call ``results.prepare(digits)`` first: it makes the evaluation sets."""
    saved = T.RECIPES[name]["seed"], T.build, T.train_gan, T.ImageMLPGenerator
    T.RECIPES[name]["seed"] = seed
    if k:
        T.build = lambda model, **kw: AnchoredGenerator(saved[1](model, **kw), k, spread, noise, seed)
        T.ImageMLPGenerator = lambda *a, **kw: AnchoredGenerator(saved[3](*a, **kw), k, spread, noise, seed)
    if ema:
        T.train_gan = averaged(saved[2], ema)
    try:
        start = time.time()
        model, _, _ = T.TRAINERS[name](digits, torch.device("cpu"), 1.0, "fast")
        seconds = time.time() - start
        x, bn_mode = R.sample_both_modes(model.cpu().eval())
    finally:
        T.RECIPES[name]["seed"], T.build, T.train_gan, T.ImageMLPGenerator = saved
    probs = M.class_probs(x)
    share = torch.bincount(probs.argmax(1), minlength=10).double() / len(x)
    truth = torch.bincount(digits.test_y[:R.N_EVAL], minlength=10).double() / R.N_EVAL
    between = float((probs.topk(2, dim=1).values[:, 1] > 0.1).double().mean())
    return {"model": name, "seed": seed, "anchors": k, "spread": spread, "noise": noise, "ema": ema,
            "bn_mode": bn_mode, **R.sample_metrics(x), "class_tv": round(0.5 * float((share - truth).abs().sum()), 3),
            "between": round(between, 3), "train_seconds": round(seconds, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", choices=MODELS)
    ap.add_argument("--anchors", type=int, nargs="+", default=[0, 200], help="K for each run; 0: the plain prior")
    ap.add_argument("--spread", type=float, default=3.0, help="the anchors' standard deviation (default 3)")
    ap.add_argument("--noise", type=float, default=1.0, help="eps's scale around an anchor (default 1)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="a moving average of the generator's weights with this decay (default 0: none, as the table); "
                         "it starts from the initial weights, so keep it for rows of a thousand steps or more")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    a = ap.parse_args(argv)
    if any(k < 0 for k in a.anchors):
        ap.error("--anchors: K must be 0 (the plain prior) or positive")
    if not 0 <= a.ema < 1:
        ap.error(f"--ema: a decay in [0, 1) (0: no average); got {a.ema}")
    digits = load_mnist()
    R.prepare(digits)
    print("| model | seed | prior | average | FID | precision | recall | classes | class TV | between two digits "
          "| NN ratio | train s |\n" + "| --- " * 12 + "|")
    for name in a.models:
        for seed in a.seeds:
            for k in a.anchors:
                row = probe(name, seed, k, digits, a.spread, a.noise, a.ema)
                prior = f"{k} anchors (spread {a.spread:g}, noise {a.noise:g})" if k else "N(0, I)"
                cells = [name, seed, prior, a.ema or "none", f"{row['fid']:.1f}", f"{row['precision']:.3f}",
                         f"{row['recall']:.3f}", row["classes"], f"{row['class_tv']:.3f}", f"{row['between']:.3f}",
                         f"{row['nn_ratio']:.2f}", f"{row['train_seconds']:.1f}"]
                print("| " + " | ".join(map(str, cells)) + " |", flush=True)
                print("JSON " + json.dumps(row), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
