"""A probe of the results table's GANs with one thing changed: the generator's prior (anchors, or clusters told to
both players; for LAPGAN, to its 8x8 level's players; for the VAE + GAN, a mixture fitted to its codes), and, if
asked, the fast schedule.

    python3 tools/probe_prior.py dcgan lsgan sngan wgangp --anchors 0 200 --seeds 0 1 2
    python3 tools/probe_prior.py gan dcgan sngan --clusters 0 20 --schedule self-conditioned --ema 0.99
    python3 tools/probe_prior.py lapgan --clusters 0 200 --schedule self-conditioned --ema 0.995 --set lambda_l1=0
    python3 tools/probe_prior.py vaegan --mixture 0 20 --seeds 0 1 2
    python3 tools/probe_prior.py --cpu-goal --seeds 0 1 2 3 4 5

Each run is a row of tools/results.py (same recipe, same budget, same measures on the same 500 test digits), its seed
set to one of ``--seeds``. With ``--anchors 0`` the prior is the usual N(0, I). With ``--anchors K`` it is K fixed
anchors mu_1..mu_K ~ N(0, spread^2 I), drawn once from the run's seed: a sample picks an anchor uniformly, then z =
mu_c + noise * eps: K bumps, far apart for their radius, instead of one. A continuous generator of a connected prior
has a connected support, so it draws, with some probability, images between separated modes (Tanielian et al., 2020);
with almost no prior mass between the bumps it can put those images where codes rarely land (lecture 4's exercise 5).
DeLiGAN (Gurumurthy et al., 2017) learns such a mixture, for small datasets; here it is fixed. ``--clusters K`` gives
the prior gaps the other way, as the results table's self-conditioned row does (lecture 7, section 1): the row's game
(its loss, optimiser, critic steps, normalisation and schedule) is played by lecture 7's conditional players (the MLP
GAN: its MLPs, made conditional the same way), told each training digit's k-means cluster on pixels (K clusters,
seeded by the run's seed) in place of a label; a sample draws a cluster in proportion to its size, then z. No label
is used. LAPGAN's 8x8 level (a plain GAN at the top of its pyramid) is the one told the clusters (of its 8x8 images);
its finer levels already see the coarse image. ``--schedule self-conditioned`` trains every run of the command, with
either kind of players, on the schedules of train_pretrained.FAST_SELF_CONDITIONED instead of the table's (the WGAN
rows' 240-300 generator steps are too few; LAPGAN's changes its levels too: see train_pretrained.train_lapgan);
``--set KEY=VALUE`` changes the schedule further (steps, k, lr, batch_size; for LAPGAN lr, batch_size, coarse_lr,
level_batch_size, level_depth, lambda_l1, level_ema, channels_last; for the VAE + GAN batch_size). ``--mixture K``
(the VAE + GAN only, which has no conditional players here) fits a K-component Gaussian mixture to its encoder's
means once the VAE phase ends, and draws its adversarial phase's fakes and its samples from that mixture instead of
N(0, I): ex-post density estimation (Ghosh et al., 2020), a prior with near gaps, learned from the codes of the
training digits without labels. ``--ema D`` keeps a moving average of the generator's weights (LAPGAN: its 8x8
generator's; the VAE + GAN: none; decay D) and samples it, as the self-conditioned row does. Besides the results
table's measures, each run prints how far its samples' digit classes (FeatureNet's reading) are from the test digits'
shares (total variation: 0 for the same shares, 1 for disjoint) and the share of samples between two digits
(FeatureNet gives a second digit more than 10 %). ``--cpu-goal`` runs each model named (default: all) with its recipe
for the issue's CPU goal, train_pretrained.CPU_GOAL (its clusters or mixture and its average, on the self-conditioned
schedules), and ends, as any run of several seeds does, with each model's FIDs seed by seed and how many are at 60 or
less. The README's results section reports what it gives. A maintainer tool, outside the course_lib package.
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

# the rows whose trainer builds its generator with course_lib.pretrained.build (a ConvGenerator), the MLP GAN,
# LAPGAN (no --anchors: each level draws its own noise; --clusters tells its 8x8 level) and the VAE + GAN (only
# --mixture: a prior fitted to its encoder's codes)
MODELS = ("gan", "dcgan", "lsgan", "wgan", "wgangp", "sngan", "lapgan", "vaegan")


def flag(value: str) -> bool:
    """--set's yes/no values: 1, true, yes or 0, false, no (any case)."""
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(value)


SCHEDULE = {"steps": int, "k": int, "lr": float, "batch_size": int,     # what --set may change
            "coarse_lr": float, "level_batch_size": int, "level_depth": int, "lambda_l1": float, "level_ema": float,
            "channels_last": flag, "fused_adam": flag}
GAN_KEYS = {"steps", "k", "lr", "batch_size", "fused_adam"}
KEYS = {"lapgan": {"steps", "lr", "batch_size", "coarse_lr", "level_batch_size", "level_depth", "lambda_l1",
                   "level_ema", "channels_last", "fused_adam"},
        "vaegan": {"batch_size", "fused_adam"},     # what each trainer reads (train_pretrained.train_lapgan,
        "wgan": GAN_KEYS - {"fused_adam"}}          # train_vaegan); the clipped WGAN learns with RMSprop


def check_schedule(name: str, schedule: dict) -> None:
    """Raise ValueError for a key outside SCHEDULE, or one that ``name``'s trainer does not read (KEYS: LAPGAN
    takes its steps only per level, as a dict, and no k; the VAE + GAN only batch_size and fused_adam; the clipped
    WGAN, whose players learn with RMSprop, no fused_adam; the other rows GAN_KEYS)."""
    unknown = set(schedule) - set(SCHEDULE)
    if unknown:
        raise ValueError(f"probe: the schedule has {sorted(SCHEDULE)}; not {sorted(unknown)}")
    allowed = KEYS.get(name, GAN_KEYS)
    wrong = {key for key in schedule if key not in allowed or
             (name == "lapgan" and key == "steps" and not isinstance(schedule[key], dict))}
    if wrong:
        if name == "lapgan":
            why = {"steps": "its steps per level are FAST_SELF_CONDITIONED's", "k": "no level has critic steps"}
            reason = "; ".join(why[key] for key in sorted(wrong))
        else:
            reason = {"vaegan": "its schedule here: batch_size and fused_adam",
                      "wgan": "its players learn with RMSprop, which has no fused kernel"}.get(name, "LAPGAN's keys")
        raise ValueError(f"{name}: --set {', '.join(sorted(wrong))} does not apply to it ({reason})")


def check_request(name: str, k: int, clusters: int, ema: float, mixture: int) -> None:
    """Raise ValueError if a run asks ``name`` for a prior change it cannot take (probe and main both ask)."""
    if k and clusters:
        raise ValueError("anchors or clusters, not both: one kind of prior at a time")
    if mixture and name != "vaegan":
        raise ValueError(f"{name} has no encoder to fit a mixture prior to (only vaegan has)")
    if name == "vaegan" and (k or clusters or ema):
        raise ValueError("vaegan takes a mixture prior (--mixture), not --anchors, --clusters or a weight average "
                         "(--ema)")
    if k and name == "lapgan":
        raise ValueError("lapgan has no single code to anchor (each level draws its own noise); use --clusters")


def describe(schedule: dict) -> str:
    """{"lr": 0.001, "steps": {"8x8": 3000, ...}} -> "lr 0.001, steps 8x8 3000 / ..." (the table's cell)."""
    def value(v):
        return " / ".join(f"{k} {n:g}" for k, n in v.items()) if isinstance(v, dict) else f"{v:g}"
    return ", ".join(f"{key} {value(v)}" for key, v in schedule.items()) or "the table's"


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


def probe(name: str, seed: int, k: int, digits, spread: float = 3.0, noise: float = 1.0, ema: float = 0.0,
          clusters: int = 0, schedule: dict | None = None, mixture: int = 0) -> dict:
    """The results row of ``name`` in the fast budget with the recipe's seed set to ``seed``, the anchored prior
    if k > 0, self-conditioned players on ``clusters`` pixel clusters if clusters > 0 (not both), the fast
    recipe's ``schedule`` changed as given, and a moving average of the generator's weights if ema > 0. Besides
    the table's measures: how far the samples' digit classes (FeatureNet's reading) are from the test digits'
    (total variation, 0 for the same shares), and the share of samples between two digits (FeatureNet gives a
    second digit more than 10 %, as in lecture 7, section 1). For "lapgan" only its 8x8 level is self-conditioned
    and averaged, and anchors are refused. "vaegan" takes no anchors, clusters or average; with ``mixture`` > 0
    its prior becomes a Gaussian mixture of that many components fitted to its encoder's means
    (train_pretrained.train_vaegan). Call
    ``results.prepare(digits)`` first: it makes the evaluation sets."""
    check_request(name, k, clusters, ema, mixture)
    check_schedule(name, schedule or {})
    saved = T.RECIPES[name]["seed"], T.build, T.train_gan, T.ImageMLPGenerator, dict(T.FAST[name])
    try:
        T.RECIPES[name]["seed"] = seed
        T.FAST[name].update(schedule or {})
        if k:
            T.build = lambda model, **kw: AnchoredGenerator(saved[1](model, **kw), k, spread, noise, seed)
            T.ImageMLPGenerator = lambda *a, **kw: AnchoredGenerator(saved[3](*a, **kw), k, spread, noise, seed)
        if ema and not clusters:        # the self-conditioned players keep their own average (r["ema_decay"])
            T.train_gan = averaged(saved[2], ema)
        start = time.time()
        if mixture:                               # the VAE + GAN's trainer fits the mixture after its VAE phase
            T.FAST[name].update({"prior_components": mixture})
        if clusters and name == "lapgan":         # its trainer self-conditions the 8x8 level (and averages it)
            T.FAST[name].update({"clusters": clusters, "ema_decay": ema})
            model, _, _ = T.TRAINERS[name](digits, torch.device("cpu"), 1.0, "fast")
        elif clusters:
            r = T.recipe(name, "fast")
            players = {"players": "mlp"} if name == "gan" else {"width": r["d_width"]}
            r = {**r, "game": name, "clusters": clusters, "ema_decay": ema, **players}
            model, _ = T.self_conditioned(r, digits, torch.device("cpu"), r["steps"], desc=f"{name}, self-conditioned")
        else:
            model, _, _ = T.TRAINERS[name](digits, torch.device("cpu"), 1.0, "fast")
        seconds = time.time() - start
        x, bn_mode = R.sample_both_modes(model.cpu().eval())
    finally:
        T.RECIPES[name]["seed"], T.build, T.train_gan, T.ImageMLPGenerator = saved[:4]
        T.FAST[name].clear()
        T.FAST[name].update(saved[4])
    probs = M.class_probs(x)
    share = torch.bincount(probs.argmax(1), minlength=10).double() / len(x)
    truth = torch.bincount(digits.test_y[:R.N_EVAL], minlength=10).double() / R.N_EVAL
    between = float((probs.topk(2, dim=1).values[:, 1] > 0.1).double().mean())
    return {"model": name, "seed": seed, "anchors": k, "spread": spread, "noise": noise, "clusters": clusters,
            "mixture": mixture,
            "schedule": dict(schedule or {}), "ema": ema,
            "bn_mode": bn_mode, **R.sample_metrics(x), "class_tv": round(0.5 * float((share - truth).abs().sum()), 3),
            "between": round(between, 3), "train_seconds": round(seconds, 1)}


def parse_schedule(items: list[str]) -> dict:
    """["k=2", "steps=650"] -> {"k": 2, "steps": 650}, each value of its SCHEDULE type."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in SCHEDULE or not value:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE with KEY one of {sorted(SCHEDULE)}")
        try:
            out[key] = SCHEDULE[key](value)
        except ValueError:
            kind = "1 or 0 (yes or no)" if SCHEDULE[key] is flag else f"a number of type {SCHEDULE[key].__name__}"
            raise ValueError(f"--set {item!r}: {key} must be {kind}") from None
        if SCHEDULE[key] is flag:
            continue
        if key == "level_ema" and not 0 <= out[key] < 1:
            raise ValueError(f"--set {item!r}: level_ema is a decay in [0, 1) (0: no average)")
        if not (0 <= out[key] if key in ("lambda_l1", "level_ema") else 0 < out[key]) or out[key] == float("inf"):
            raise ValueError(f"--set {item!r}: {key} must be " +
                             ("non-negative" if key == "lambda_l1" else "positive") + " and finite")
    return out


def plans(a, ap) -> list[tuple]:
    """What main runs, model by model: (name, anchors, clusters, mixtures, ema, schedule); with --cpu-goal each
    model's train_pretrained.CPU_GOAL recipe on the self-conditioned schedules, and every model if none is named."""
    if a.cpu_goal:
        flags = (("--anchors", a.anchors), ("--clusters", a.clusters), ("--mixture", a.mixture), ("--ema", a.ema),
                 ("--schedule", a.schedule), ("--set", a.changes))
        given = [flag for flag, value in flags if value not in (None, [])]
        if given:
            ap.error(f"--cpu-goal sets the prior, the average and the schedule of each model; not {', '.join(given)} "
                     "(run without --cpu-goal to change them)")
        return [(name, [0], [T.CPU_GOAL[name].get("clusters", 0)], [T.CPU_GOAL[name].get("mixture", 0)],
                 T.CPU_GOAL[name].get("ema", 0.0), dict(T.FAST_SELF_CONDITIONED.get(name, {})))
                for name in a.models or list(T.CPU_GOAL)]
    if not a.models:
        ap.error("name at least one model (or ask for --cpu-goal, which runs them all)")
    anchors = a.anchors if a.anchors is not None else (
        [0] if a.clusters is not None or {"lapgan", "vaegan"} & set(a.models) else [0, 200])
    clusters, mixture, ema = a.clusters or [0], a.mixture or [0], a.ema or 0.0
    if any(k < 0 for k in anchors + clusters + mixture):
        ap.error("--anchors, --clusters, --mixture: K must be 0 (the plain prior) or positive")
    if not 0 <= ema < 1:
        ap.error(f"--ema: a decay in [0, 1) (0: no average); got {ema}")
    try:
        changes = parse_schedule(a.changes)
        out = []
        for name in a.models:
            for k in anchors:
                for c in clusters:
                    for m in mixture:
                        check_request(name, k, c, ema, m)
            schedule = {**(T.FAST_SELF_CONDITIONED.get(name, {}) if a.schedule == "self-conditioned" else {}),
                        **changes}
            check_schedule(name, schedule)
            out.append((name, anchors, clusters, mixture, ema, schedule))
    except ValueError as e:
        ap.error(str(e))
    return out


def summary(rows: list[dict], goal: float = 60.0) -> str:
    """Per model and prior: the FID over the seeds (each seed's in order), how many reach ``goal``, train seconds."""
    groups = {}
    for row in rows:
        groups.setdefault((row["model"], row["anchors"], row["clusters"], row["mixture"]), []).append(row)
    lines = [f"| model | anchors | clusters | mixture | FID (seed by seed) | seeds at <= {goal:g} | train s |",
             "| --- " * 7 + "|"]
    for (name, k, c, m), group in groups.items():
        fids, secs = [r["fid"] for r in group], [r["train_seconds"] for r in group]
        each = ", ".join(f"{f:.1f}" for f in fids)
        lines.append(f"| {name} | {k} | {c} | {m} | {min(fids):.1f}-{max(fids):.1f} ({each}) | "
                     f"{sum(f <= goal for f in fids)} of {len(fids)} | {min(secs):.1f}-{max(secs):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", metavar="MODEL",     # checked below: argparse refuses choices for no model
                    help=f"any of {', '.join(MODELS)} (with --cpu-goal: default all)")
    ap.add_argument("--cpu-goal", action="store_true",
                    help="each model with its recipe for FID <= 60 in about 30 s on 2 cores (train_pretrained."
                         "CPU_GOAL: its prior and average, on FAST_SELF_CONDITIONED's schedule), then the FIDs per model")
    ap.add_argument("--anchors", type=int, nargs="+", default=None,
                    help="K for each run; 0: the plain prior (default: 0 200, or 0 when --clusters is given or "
                         "lapgan or vaegan is probed)")
    ap.add_argument("--spread", type=float, default=3.0, help="the anchors' standard deviation (default 3)")
    ap.add_argument("--noise", type=float, default=1.0, help="eps's scale around an anchor (default 1)")
    ap.add_argument("--clusters", type=int, nargs="+", default=None,
                    help="K for each run: self-conditioned players on K pixel clusters (LAPGAN: its 8x8 level's); "
                         "0: the row's own players (default)")
    ap.add_argument("--mixture", type=int, nargs="+", default=None,
                    help="K for each run of vaegan: its prior a K-component Gaussian mixture fitted to the encoder's "
                         "means after the VAE phase; 0: N(0, I) (default)")
    ap.add_argument("--schedule", choices=("table", "self-conditioned"), default=None,
                    help="the fast schedules: the results table's (default) or train_pretrained.FAST_SELF_CONDITIONED "
                         "(rows without an entry there, such as vaegan, keep the table's)")
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", dest="changes",
                    help=f"change the fast recipe's schedule for every run ({', '.join(SCHEDULE)}; each model takes "
                         "only its own: lapgan no steps or k, vaegan only batch_size, the others no LAPGAN keys)")
    ap.add_argument("--ema", type=float, default=None,
                    help="a moving average of the generator's weights with this decay (default 0: none, as the table; "
                         "LAPGAN: its 8x8 generator's; vaegan has none); "
                         "it starts from the initial weights, so keep it for rows of a thousand steps or more")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    a = ap.parse_args(argv)
    unknown = [name for name in a.models if name not in MODELS]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)}: choose from {', '.join(MODELS)}")
    runs = plans(a, ap)
    digits = load_mnist()
    R.prepare(digits)
    print("| model | seed | prior | schedule | average | FID | precision | recall | classes | class TV "
          "| between two digits | NN ratio | train s |\n" + "| --- " * 13 + "|")
    rows = []
    for name, anchors, clusters, mixture, ema, schedule in runs:
        for seed in a.seeds:
            for k in anchors:
                for c, m in [(c, m) for c in clusters for m in mixture]:
                    row = probe(name, seed, k, digits, a.spread, a.noise, ema, c, schedule, mixture=m)
                    rows.append({"model": name, "seed": seed, "anchors": k, "clusters": c, "mixture": m, **row})
                    prior = (f"{k} anchors (spread {a.spread:g}, noise {a.noise:g})" if k else
                             f"a Gaussian mixture of {m} on the encoder's means" if m else
                             f"{c} clusters, told the 8x8 level's players" if c and name == "lapgan" else
                             f"{c} clusters, told both players" if c else "N(0, I)")
                    changed = describe(schedule)
                    cells = [name, seed, prior, changed, ema or "none", f"{row['fid']:.1f}",
                             f"{row['precision']:.3f}", f"{row['recall']:.3f}", row["classes"],
                             f"{row['class_tv']:.3f}", f"{row['between']:.3f}", f"{row['nn_ratio']:.2f}",
                             f"{row['train_seconds']:.1f}"]
                    print("| " + " | ".join(map(str, cells)) + " |", flush=True)
                    print("JSON " + json.dumps(row), file=sys.stderr, flush=True)
    if a.cpu_goal or len(a.seeds) > 1:
        print("\n" + summary(rows), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
