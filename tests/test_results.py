"""tools/results.py, the course's results table: a fast-budget run of two small rows writes a file that
follows tools/results.schema.json, and the README's tables are exactly what the runner renders from the committed
results/<budget>.json (never edited by hand)."""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
SCHEMA = json.loads((ROOT / "tools" / "results.schema.json").read_text())


def test_fast_run_writes_a_valid_results_file(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "results.py"), "floor", "gan", "--budget", "fast",
                        "--steps-scale", "0.05", "--no-readme", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads((tmp_path / "fast.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert [row["model"] for row in results["rows"]] == ["floor", "gan"]
    floor, gan = results["rows"]
    assert floor["fid"] < gan["fid"], f"the real digits' FID {floor['fid']} should be below a brief GAN's {gan['fid']}"
    assert gan["recipe"]["budget"] == "fast" and gan["images_per_second"] > 0
    import results as runner
    table = runner.table(results)
    assert "GAN (NS, MLP)" in table and results["data"]["source_short"] in table


def test_schema_rejects_a_row_without_its_metrics():
    bad = {"model": "dcgan", "label": "DCGAN", "family": "GAN", "recipe": {}, "train_seconds": 1.0,
           "images_per_second": 1.0, "bn_mode": "eval", "eval_seconds": 1.0}
    with pytest.raises(jsonschema.ValidationError, match="fid"):
        jsonschema.validate(bad, SCHEMA["properties"]["rows"]["items"])


@pytest.mark.parametrize("budget", ["fast", "full"])
def test_readme_table_is_the_runners(budget):
    import results as runner

    path = ROOT / "results" / f"{budget}.json"
    in_readme = runner.readme_table(budget)
    if not path.exists():
        assert in_readme is None or "not measured yet" in in_readme, (
            f"README has a {budget} results table but results/{budget}.json is missing")
        return
    results = json.loads(path.read_text())
    jsonschema.validate(results, SCHEMA)
    assert "steps_scale" not in results, f"results/{budget}.json comes from a scaled-down check run"
    assert in_readme == runner.table(results), (
        f"the README's {budget} results table differs from results/{budget}.json: run "
        f"`python3 course.py results --budget {budget}` (never edit the table by hand)")


def test_merge_joins_runs_split_over_several_calls(tmp_path):
    """A full-budget table made in groups (a GPU call lasts at most 10 minutes): --merge gives one file with the
    rows in the table's order, seconds added up, and refuses files of different budgets (the same digits described
    in other words, as when one run tried a download, still merge)."""
    import results as runner

    whole = json.loads((ROOT / "results" / "fast.json").read_text())
    first, second = dict(whole), dict(whole)
    first["rows"], second["rows"] = whole["rows"][5:], whole["rows"][:5]   # out of order on purpose
    first["total_seconds"], second["total_seconds"] = 100.0, 23.4
    second["data"] = {**whole["data"], "source": whole["data"]["source"] + " and the download failed"}  # same digits
    files = []
    for name, part in (("a", first), ("b", second)):
        (tmp_path / name).mkdir()
        files.append(tmp_path / name / "fast.json")
        files[-1].write_text(json.dumps(part))
    assert runner.main(["--merge", *map(str, files), "--no-readme", "--out", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "fast.json").read_text())
    assert [row["model"] for row in merged["rows"]] == [row["model"] for row in whole["rows"]], \
        f"merged rows out of the table's order: {[row['model'] for row in merged['rows']]}"
    assert merged["total_seconds"] == 123.4 and merged["rows"] == whole["rows"]
    jsonschema.validate(merged, SCHEMA)
    second["data"] = {**whole["data"], "train": whole["data"]["train"] + 1}          # other digits: refused
    files[1].write_text(json.dumps(second))
    with pytest.raises(SystemExit, match="differ in 'data'"):
        runner.main(["--merge", *map(str, files), "--no-readme", "--out", str(tmp_path / "merged")])
    second["data"] = whole["data"]
    second["budget"] = "full"
    files[1].write_text(json.dumps(second))
    with pytest.raises(SystemExit, match="differ in 'budget'"):
        runner.main(["--merge", *map(str, files), "--no-readme", "--out", str(tmp_path / "merged")])


def test_self_conditioned_generator_samples_clusters_by_size():
    """The self-conditioned row's sampler: clusters drawn in proportion to their sizes (a cluster with no digit
    never), then the codes, all from the caller's generator; k-means on pixels finds two obvious groups."""
    import torch
    import train_pretrained as T
    from course_lib import rng
    from course_lib.nets import ConditionalGenerator

    class Echo(torch.nn.Module):            # images whose every pixel is the cluster id they were drawn for
        z_dim = 3

        def forward(self, z, clusters):
            return clusters.float()[:, None, None, None].expand(-1, 1, 28, 28) + 0 * z.sum()

    G = T.SelfConditionedGenerator(Echo(), [600, 0, 300, 100])
    x = G.sample(4000, rng(0))
    share = torch.bincount(x[:, 0, 0, 0].long(), minlength=4).double() / 4000
    assert torch.allclose(share, torch.tensor([0.6, 0.0, 0.3, 0.1], dtype=torch.float64), atol=0.03), \
        f"cluster shares {share.tolist()}, expected about [0.6, 0, 0.3, 0.1]"
    assert torch.equal(x, G.sample(4000, rng(0))), "same generator, different samples"
    with pytest.raises(ValueError, match="positive number of samples"):
        G.sample(0, rng(0))
    real = T.SelfConditionedGenerator(ConditionalGenerator(n_classes=4, z_dim=8, width=4).eval(), [1, 1, 1, 1])
    assert real.sample(5, rng(0)).shape == (5, 1, 28, 28)

    blobs = torch.cat([torch.zeros(30, 1, 28, 28), torch.ones(20, 1, 28, 28)]) + 0.01 * torch.randn(50, 1, 28, 28)
    c = T.kmeans_clusters(blobs, 2, seed=0)
    assert len(set(c[:30].tolist())) == 1 and len(set(c[30:].tolist())) == 1 and c[0] != c[30], \
        f"k-means split two separate blobs as {c.tolist()}"


def test_anchored_prior_picks_anchors_uniformly_and_probe_restores_the_recipe(monkeypatch):
    """tools/probe_prior.py: the anchored generator turns the usual N(0, I) codes (one dimension longer) into
    anchor + noise, the anchor picked by the last coordinate alone, each of K anchors equally often; the weight
    average is the average; the probe reaches the real trainer with its prior and undoes its changes to a recipe,
    ``build`` and the training loop, even when the row fails."""
    import types

    import torch
    import probe_prior as P
    import results as runner
    import train_pretrained as T
    from course_lib import rng

    class Echo(torch.nn.Module):            # an "image" that is the code it was given
        z_dim = 4

        def forward(self, z):
            return z

    G = P.AnchoredGenerator(Echo(), k=5, spread=3.0, noise=0.0, seed=0)
    assert G.z_dim == 5
    assert torch.equal(G.anchors, 3.0 * torch.randn(5, 4, generator=torch.Generator().manual_seed(0))), \
        "the anchors should be spread * N(0, I) drawn from the run's seed"
    z = G.prior(5000, rng(0))
    expected = (torch.special.ndtr(z[:, -1]) * 5).floor().long()
    assert torch.equal(G.anchor_of(z), expected), "the anchor should be floor(K * Phi(last coordinate))"
    moved = z.clone()
    moved[:, :-1] = torch.randn(5000, 4)
    assert torch.equal(G.anchor_of(moved), expected), "the other coordinates should not choose the anchor"
    share = torch.bincount(G.anchor_of(z), minlength=5).double() / 5000
    assert torch.allclose(share, torch.full((5,), 0.2, dtype=torch.float64), atol=0.03), \
        f"anchor shares {share.tolist()}, expected 0.2 each"
    assert torch.equal(G(z), G.anchors[expected]), "with noise 0 every code should land on its anchor"
    noisy = P.AnchoredGenerator(Echo(), k=5, spread=3.0, noise=0.5, seed=0)
    assert torch.allclose(noisy(z) - noisy.anchors[expected], 0.5 * z[:, :-1], atol=1e-6), \
        "with noise 0.5 a code should land 0.5 * eps from its anchor (eps: all but its last coordinate)"

    def loop(G, D, callback):               # a training loop that sets the weight to 1 at each of three steps
        for i in range(1, 4):
            with torch.no_grad():
                G.weight.fill_(1.0)
            callback(i, G, D)
        return "history"

    calls, G = [], torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(G.weight)
    assert P.averaged(loop, 0.75)(G, None, callback=lambda i, G, D: calls.append(i)) == "history"
    assert G.weight.item() == pytest.approx(0.578125), \
        f"average with decay 0.75: 0 -> 0.25 -> 0.4375 -> 0.578125; found {G.weight.item()}"
    assert calls == [1, 2, 3], f"the trainer's own callback should still run at every step; it ran at {calls}"

    # the real DCGAN trainer, one step on a few stand-in digits: it must build the anchored generator
    seen = []

    def sample_spy(model):
        seen.append(model)
        return torch.rand(20, 1, 28, 28), "eval"

    monkeypatch.setitem(T.FAST["dcgan"], "steps", 1)
    monkeypatch.setattr(runner, "sample_both_modes", sample_spy)
    monkeypatch.setattr(runner, "sample_metrics", lambda x: {"fid": 1.0})
    digits = types.SimpleNamespace(train_x=torch.rand(40, 1, 28, 28), test_y=torch.arange(500) % 10)
    monkeypatch.setitem(T.FAST["gan"], "steps", 1)
    for name in ("dcgan", "gan"):
        row = P.probe(name, seed=3, k=7, digits=digits, ema=0.9)
        assert isinstance(seen[-1], P.AnchoredGenerator) and len(seen[-1].anchors) == 7, \
            f"{name}: the trainer should have trained an AnchoredGenerator with 7 anchors; it trained " \
            f"{type(seen[-1]).__name__}"
        assert row["anchors"] == 7 and row["seed"] == 3 and 0 <= row["between"] <= 1 and 0 <= row["class_tv"] <= 1, row

    build, train_gan, mlp, seed = T.build, T.train_gan, T.ImageMLPGenerator, T.RECIPES["dcgan"]["seed"]

    def fails(*args, **kwargs):
        assert isinstance(T.build("dcgan"), P.AnchoredGenerator) and T.RECIPES["dcgan"]["seed"] == 7
        assert T.train_gan is not train_gan, "--ema should wrap the training loop"
        raise RuntimeError("a row that breaks")

    monkeypatch.setitem(T.TRAINERS, "dcgan", fails)
    with pytest.raises(RuntimeError, match="a row that breaks"):
        P.probe("dcgan", seed=7, k=3, digits=None, ema=0.99)
    assert (T.build, T.train_gan, T.ImageMLPGenerator, T.RECIPES["dcgan"]["seed"]) == (build, train_gan, mlp, seed), \
        "the probe left its changes behind"


def _main_with_probe_spy(monkeypatch, argv, detail: bool = False) -> list[tuple]:
    """tools/probe_prior.py's main run with ``probe`` replaced by a spy (no data, no training; FID 50 + 20 * seed,
    train seconds 30 + seed): the runs it asked for, as (model, anchors, clusters, mixture, schedule), or with
    ``detail`` as (model, seed, anchors, clusters, mixture, ema, schedule). The spy stays in place after the call."""
    import probe_prior as P
    import results as runner

    runs = []

    def probe_spy(name, seed, k, digits, spread, noise, ema, clusters, schedule, mixture=0):
        runs.append((name, seed, k, clusters, mixture, ema, schedule) if detail else (name, k, clusters, mixture,
                                                                                       schedule))
        return {"fid": 50.0 + 20 * seed, "precision": 1.0, "recall": 1.0, "classes": 10, "class_tv": 0.0,
                "between": 0.0, "nn_ratio": 1.0, "train_seconds": 30.0 + seed}

    monkeypatch.setattr(P, "probe", probe_spy)
    monkeypatch.setattr(P, "load_mnist", lambda: None)
    monkeypatch.setattr(runner, "prepare", lambda digits: None)
    assert P.main(argv) == 0
    return runs


def test_any_game_of_the_table_can_be_self_conditioned_and_the_probe_restores_its_schedule(monkeypatch, capsys):
    """tools/probe_prior.py --clusters: the row's own game (here the clipped WGAN: RMSprop, k critic steps, clipped
    weights) reaches lecture 7's conditional players through train_pretrained.self_conditioned, and the MLP GAN gets
    MLP twins; --set changes the fast schedule for the run only, even when the row fails; bad requests get a clear
    error."""
    import types

    import torch
    import probe_prior as P
    import results as runner
    import train_pretrained as T

    seen = {}
    real_loop = T.train_adversarial

    def loop_spy(stream, d_loss, g_loss, opt_d, opt_g, D, G, steps, k=1, after_d_step=None, **kwargs):
        seen.update(D=D, G=G, steps=steps, k=k, opt_d=opt_d, loss=d_loss(next(stream)))
        return real_loop(stream, d_loss, g_loss, opt_d, opt_g, D, G, steps, k=k, after_d_step=after_d_step, **kwargs)

    def sample_spy(model):
        seen["model"] = model
        return torch.rand(20, 1, 28, 28), "eval"

    monkeypatch.setattr(T, "train_adversarial", loop_spy)
    monkeypatch.setattr(runner, "sample_both_modes", sample_spy)
    monkeypatch.setattr(runner, "sample_metrics", lambda x: {"fid": 1.0})
    digits = types.SimpleNamespace(train_x=torch.rand(40, 1, 28, 28), train_y=torch.arange(40) % 10,
                                   test_y=torch.arange(500) % 10)
    fast, train_gan = dict(T.FAST["wgan"]), T.train_gan
    row = P.probe("wgan", seed=3, k=0, digits=digits, ema=0.5, clusters=4, schedule={"steps": 2, "k": 3})
    assert row["clusters"] == 4 and row["schedule"] == {"steps": 2, "k": 3} and row["seed"] == 3, row
    assert (seen["steps"], seen["k"]) == (2, 3), f"--set steps=2 k=3 should reach the loop; it got {seen['steps']}, " \
                                                 f"{seen['k']}"
    assert isinstance(seen["opt_d"], torch.optim.RMSprop), f"the clipped WGAN's critic uses RMSprop, not " \
                                                           f"{type(seen['opt_d']).__name__}"
    assert isinstance(seen["loss"], tuple) and "w_estimate" in seen["loss"][1], \
        "the critic's loss should be the WGAN's (with its W1 estimate logged)"
    assert seen["D"].n_classes == 4 and seen["G"].n_classes == 4, "the players should be told one of 4 clusters"
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in seen["D"].modules()), \
        "the clipped WGAN's critic has no BatchNorm (d_norm 'none'); the conditional critic has one"
    biggest = max(p.abs().max().item() for p in seen["D"].parameters())
    assert biggest <= T.RECIPES["wgan"]["clip"] + 1e-9, f"the critic's weights should stay clipped; found {biggest}"
    assert isinstance(seen["model"], T.SelfConditionedGenerator) and seen["model"].sample(3).shape == (3, 1, 28, 28)
    assert seen["model"].conditional is not seen["G"], "with --ema the average should be sampled, not the generator"
    assert T.FAST["wgan"] == fast, f"the probe left its schedule behind: {T.FAST['wgan']}"
    assert T.RECIPES["wgan"]["seed"] == 0 and T.train_gan is train_gan, "the probe left its seed or loop behind"

    P.probe("gan", seed=0, k=0, digits=digits, clusters=4, schedule={"steps": 2})      # the MLP GAN's twins
    players = type(seen["G"]), type(seen["D"])
    assert players == (T.ConditionalImageMLPGenerator, T.ConditionalMLPDiscriminator), \
        f"the MLP GAN should be self-conditioned with MLP players; it got {[t.__name__ for t in players]}"
    assert seen["model"].sample(3).shape == (3, 1, 28, 28) and seen["steps"] == 2

    def fails(*args, **kwargs):
        assert T.FAST["dcgan"]["steps"] == 5
        raise RuntimeError("a row that breaks")

    monkeypatch.setattr(T, "self_conditioned", fails)
    fast = dict(T.FAST["dcgan"])
    with pytest.raises(RuntimeError, match="a row that breaks"):
        P.probe("dcgan", seed=0, k=0, digits=digits, clusters=4, schedule={"steps": 5})
    assert T.FAST["dcgan"] == fast, "a failing row left its schedule behind"

    with pytest.raises(ValueError, match="not both"):
        P.probe("dcgan", seed=0, k=3, digits=digits, clusters=4)
    assert P.parse_schedule(["k=2", "steps=650", "lr=2e-3"]) == {"k": 2, "steps": 650, "lr": 0.002}
    for bad, why in (["d_width=8"], "KEY one of"), (["steps=0"], "positive"), (["k=1.5"], "type int"), \
                     (["lr"], "KEY=VALUE"), (["lr=inf"], "finite"):
        with pytest.raises(ValueError, match=why):
            P.parse_schedule(bad)

    calls = _main_with_probe_spy(monkeypatch, ["wgan", "dcgan", "--clusters", "0", "20", "--schedule",
                                               "self-conditioned", "--set", "steps=5"])
    expected = {**T.FAST_SELF_CONDITIONED["wgan"], "steps": 5}
    dcgan = {**T.FAST_SELF_CONDITIONED["dcgan"], "steps": 5}
    assert calls == [("wgan", 0, 0, 0, expected), ("wgan", 0, 20, 0, expected), ("dcgan", 0, 0, 0, dcgan),
                     ("dcgan", 0, 20, 0, dcgan)], f"--schedule self-conditioned --set steps=5 gave {calls}"
    for argv, why in ((["dcgan", "--anchors", "3", "--clusters", "4"], "one kind of prior"),
                      (["dcgan", "--clusters", "-1"], "0 (the plain prior) or positive"),
                      (["dcgan", "--set", "x=1"], "KEY one of")):
        with pytest.raises(SystemExit):
            P.main(argv)
        assert why in capsys.readouterr().err, f"{argv}: the error should say {why!r}"


def test_lapgan_probe_self_conditions_its_8x8_level_and_changes_only_what_it_is_told(monkeypatch, capsys):
    """tools/probe_prior.py lapgan --clusters: the 8x8 level's players are told the clusters of its 8x8 images
    (and the average is what LAPGAN samples), the schedule's level keys reach train_lapgan (coarse lr, level depth
    and batch, the L1 term, the levels' weight averages), the fast recipe is restored, and requests that do not
    apply to a row are refused with a reason."""
    import types

    import torch
    import probe_prior as P
    import results as runner
    import train_pretrained as T
    from course_lib.nets import LevelGenerator

    calls = []
    real_loop = T.train_adversarial

    def loop_spy(stream, d_loss, g_loss, opt_d, opt_g, D, G, steps, **kwargs):
        batch = next(stream)
        call = dict(D=D, G=G, steps=steps, lr=opt_g.param_groups[0]["lr"], batch=len(batch[0]), g=g_loss(batch),
                    seed=T.RECIPES["lapgan"]["seed"],      # each 4-D weight's layout: channels-last, not the usual
                    channels_last=[p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
                                   for m in (G, D) for p in m.parameters() if p.dim() == 4])
        if isinstance(G, LevelGenerator) and isinstance(call["g"], tuple):
            last = [m for m in G.modules() if isinstance(m, torch.nn.Conv2d)][-1]
            saved = last.weight.detach().clone(), last.bias.detach().clone()
            with torch.no_grad():                    # a level whose residual is 0: its L1 is the real residual's size
                last.weight.zero_()
                last.bias.zero_()
                call["l1_of_zero"] = g_loss(batch)[1]["l1"].item(), batch[1].abs().mean().item()
                last.weight.copy_(saved[0])
                last.bias.copy_(saved[1])
        calls.append(call)
        history = real_loop(stream, d_loss, g_loss, opt_d, opt_g, D, G, steps, **kwargs)
        call["trained"] = [p.detach().clone() for p in G.parameters()]
        return history

    plain = []
    real_train_gan = T.train_gan

    def train_gan_spy(G, D, data, steps, opt_g, opt_d, **kwargs):
        plain.append((type(G).__name__, steps, opt_g.param_groups[0]["lr"], kwargs["batch_size"]))
        return real_train_gan(G, D, data, steps, opt_g, opt_d, **kwargs)

    seen = {}

    def sample_spy(model):
        seen["model"] = model
        return model.sample(20, torch.Generator().manual_seed(0)), "eval"

    monkeypatch.setattr(T, "train_adversarial", loop_spy)
    monkeypatch.setattr(T, "train_gan", train_gan_spy)
    averaged, real_average = [], T.average_weights_
    monkeypatch.setattr(T, "average_weights_", lambda avg, model, decay: (averaged.append(decay),
                                                                          real_average(avg, model, decay)))
    clustered, real_kmeans = [], T.kmeans_clusters
    monkeypatch.setattr(T, "kmeans_clusters", lambda x, k, seed: (clustered.append(tuple(x.shape)),
                                                                  real_kmeans(x, k, seed))[1])
    monkeypatch.setattr(runner, "sample_both_modes", sample_spy)
    monkeypatch.setattr(runner, "sample_metrics", lambda x: {"fid": 1.0})
    g = torch.Generator().manual_seed(0)
    digits = types.SimpleNamespace(train_x=torch.rand(40, 1, 28, 28, generator=g), train_y=torch.arange(40) % 10,
                                   test_x=torch.rand(500, 1, 28, 28, generator=g), test_y=torch.arange(500) % 10)
    fast = T.FAST["lapgan"]
    saved = {**fast, "steps": dict(fast["steps"])}
    schedule = {**T.FAST_SELF_CONDITIONED["lapgan"], "steps": {"8x8": 2, "16x16": 3, "32x32": 1}}
    row = P.probe("lapgan", seed=1, k=0, digits=digits, ema=0.5, clusters=4, schedule=schedule)
    assert row["clusters"] == 4 and row["seed"] == 1, row
    assert [c["seed"] for c in calls] == [1, 1, 1] and not plain, \
        f"every level should train with the run's seed 1 ({[c['seed'] for c in calls]}), none by the plain 8x8 loop"
    coarse, sixteen, thirtytwo = calls
    assert isinstance(coarse["G"], T.ConditionalCoarseGenerator) and coarse["G"].n_classes == 4 \
        and isinstance(coarse["D"], T.ConditionalMLPDiscriminator), \
        f"the 8x8 level should be self-conditioned on 4 clusters; it trained {type(coarse['G']).__name__}"
    assert (coarse["steps"], coarse["lr"], coarse["batch"]) == (2, 2e-3, 128), \
        f"the 8x8 level: 2 steps at coarse_lr 2e-3, batch 128 expected; found {coarse['steps']}, {coarse['lr']}, " \
        f"{coarse['batch']}"
    model = seen["model"]
    assert isinstance(model.coarse, T.SelfConditionedGenerator) and model.coarse.conditional is not coarse["G"], \
        "LAPGAN should sample the 8x8 level's weight average, under the sampling contract"
    assert any(not torch.equal(pa, p) for pa, p in zip(model.coarse.conditional.parameters(),
                                                       coarse["G"].parameters())), \
        "with --ema 0.5 the sampled 8x8 generator should be an average, not a copy of the trained one"
    assert clustered == [(40, 1, 8, 8)], f"the 8x8 level should cluster the 8x8 images it learns; it clustered " \
        f"{clustered}"
    assert averaged[:2] == [0.5, 0.5], f"the 8x8 average should take one step of decay 0.5 per step; it took {averaged}"
    warm_up = [min(0.99, (1 + t) / (10 + t)) for t in (1, 2, 3, 1)]
    assert averaged[2:] == pytest.approx(warm_up), \
        f"the levels' averages (3 and 1 steps, decay 0.99 after the warm-up) should decay by {warm_up}; " \
        f"found {averaged[2:]}"
    assert model.sample(3, torch.Generator().manual_seed(0)).shape == (3, 1, 28, 28)
    for level, steps in ((sixteen, 3), (thirtytwo, 1)):
        convs = sum(isinstance(m, torch.nn.Conv2d) for m in level["G"].modules())
        assert (level["steps"], level["lr"], level["batch"], convs) == (steps, T.FAST["lapgan"]["lr"], 32, 5), \
            f"a level: {steps} steps at the fast lr, batch 32, 5 convolutions expected; found {level['steps']}, " \
            f"{level['lr']}, {level['batch']}, {convs}"
        loss, terms = level["g"]
        assert loss.item() == pytest.approx((terms["adv"] + 100.0 * terms["l1"]).item(), rel=1e-5), \
            "a level's generator loss should be adv + lambda_l1 * L1"
        assert level["l1_of_zero"][0] == pytest.approx(level["l1_of_zero"][1], rel=1e-5), \
            f"a residual of 0 should be as far from the real one as its mean |h| = {level['l1_of_zero'][1]:.4f}; " \
            f"the L1 term gave {level['l1_of_zero'][0]:.4f}"
    assert model.generators[0] is sixteen["G"] and model.generators[1] is thirtytwo["G"]
    for level in (sixteen, thirtytwo):
        assert level["channels_last"] and all(level["channels_last"]), \
            f"with channels_last the levels' players should train in that layout; found {level['channels_last']}"
    assert all(p.is_contiguous() for p in model.generators.parameters()), \
        "the trained levels should come back in the usual memory layout"
    for level in (sixteen, thirtytwo):
        assert any(not torch.equal(pa, p) for pa, p in zip(level["G"].parameters(), level["trained"])), \
            "with level_ema each level should be sampled as its weight average, not as the last weights"
    assert T.FAST["lapgan"] == saved, f"the probe left its schedule behind: {T.FAST['lapgan']}"

    calls.clear()                                          # the table's LAPGAN: none of the changes
    averaged.clear()
    monkeypatch.setitem(T.FAST["lapgan"], "steps", {"8x8": 1, "16x16": 1, "32x32": 1})
    P.probe("lapgan", seed=0, k=0, digits=digits)
    assert not averaged and all(all(torch.equal(p, q) for p, q in zip(c["G"].parameters(), c["trained"]))
                                for c in calls), "the table's levels sample their last weights, with no average"
    assert type(seen["model"].coarse).__name__ == "CoarseGenerator" and len(calls) == 2, \
        "without clusters the 8x8 level is the plain CoarseGenerator, trained by train_gan"
    assert plain == [("CoarseGenerator", 1, T.FAST["lapgan"]["lr"], 64)], \
        f"the table's 8x8 level: 1 step at the fast lr, batch 64 expected; found {plain}"
    assert all(torch.is_tensor(c["g"]) and c["batch"] == 64 and not any(c["channels_last"]) and
               sum(isinstance(m, torch.nn.Conv2d) for m in c["G"].modules()) == 3 for c in calls), \
        "without the probe's keys the levels keep 3 convolutions, batch 64, the usual layout and the adversarial " \
        "loss alone"

    for name, schedule, why in (("lapgan", {"steps": 5}, "steps per level"), ("lapgan", {"k": 2}, "critic steps"),
                                ("dcgan", {"level_depth": 5}, "LAPGAN's keys")):
        with pytest.raises(ValueError, match=why):
            P.probe(name, seed=0, k=0, digits=digits, clusters=4, schedule=schedule)
    with pytest.raises(ValueError, match="no single code"):
        P.probe("lapgan", seed=0, k=3, digits=digits)
    assert P.parse_schedule(["lambda_l1=0", "level_depth=4", "level_ema=0", "channels_last=0"]) == \
        {"lambda_l1": 0.0, "level_depth": 4, "level_ema": 0.0, "channels_last": False}
    assert P.parse_schedule(["channels_last=Yes"]) == {"channels_last": True}
    with pytest.raises(ValueError, match="1 or 0"):
        P.parse_schedule(["channels_last=2"])
    with pytest.raises(ValueError, match="non-negative"):
        P.parse_schedule(["lambda_l1=-1"])
    for bad in ("level_ema=1", "level_ema=-0.5"):
        with pytest.raises(ValueError, match=r"decay in \[0, 1\)"):
            P.parse_schedule([bad])
    for argv, why in ((["lapgan", "--anchors", "3"], "no single code"),
                      (["dcgan", "lapgan", "--set", "lambda_l1=0"], "LAPGAN's keys"),
                      (["lapgan", "dcgan", "--anchors", "0", "5"], "no single code"),
                      (["lapgan", "--set", "steps=5"], "steps per level")):
        with pytest.raises(SystemExit):
            P.main(argv)
        assert why in capsys.readouterr().err, f"{argv}: the error should say {why!r}"

    runs = _main_with_probe_spy(monkeypatch, ["lapgan", "--clusters", "0", "50", "--schedule", "self-conditioned",
                                              "--set", "level_depth=4"])
    expected = {**T.FAST_SELF_CONDITIONED["lapgan"], "level_depth": 4}
    assert runs == [("lapgan", 0, 0, 0, expected), ("lapgan", 0, 50, 0, expected)], \
        f"--schedule self-conditioned (its steps per level) with --set level_depth=4 gave {runs}"
    steps = "steps 8x8 {} / 16x16 {} / 32x32 {}".format(*expected["steps"].values())
    assert steps in capsys.readouterr().out, f"the table should show the steps per level ({steps!r})"


def test_vaegan_probe_draws_from_a_mixture_fitted_to_its_codes(monkeypatch, capsys):
    """tools/probe_prior.py vaegan --mixture K: the mixture prior draws each component by its weight, then z from
    it; the VAE + GAN's adversarial phase draws its fakes from the mixture fitted after the VAE phase, the trainer
    returns the mixture's generator, the fast recipe is restored, and requests that do not apply are refused."""
    import types

    import torch
    import probe_prior as P
    import results as runner
    import train_pretrained as T
    from course_lib.pretrained import build

    vae = build("vaegan")
    means = torch.zeros(2, vae.z_dim)
    means[1] = 10.0
    covariances = torch.eye(vae.z_dim).expand(2, -1, -1) * 1e-4
    G = T.MixturePriorGenerator(vae, means, covariances, torch.tensor([0.25, 0.75]))
    z = G.prior(4000, torch.Generator().manual_seed(0))
    far = (z.mean(1) > 5).double().mean().item()
    assert far == pytest.approx(0.75, abs=0.03), \
        f"3/4 of the codes should come from the second component; {far:.3f} did"
    assert (z - means[(z.mean(1) > 5).long()]).abs().max() < 0.1, "codes should stay within their component's spread"
    assert G.sample(3).shape == (3, 1, 28, 28) and 0 <= G.sample(3).min() and G.sample(3).max() <= 1
    with pytest.raises(ValueError, match="positive number"):
        G.sample(0)

    drawn, real_prior = [], T.MixturePriorGenerator.prior

    def prior_spy(self, n, generator=None):
        drawn.append(n)
        return real_prior(self, n, generator)

    seen = {}

    def sample_spy(model):
        seen["model"] = model
        return model.sample(20, torch.Generator().manual_seed(0)), "eval"

    monkeypatch.setattr(T.MixturePriorGenerator, "prior", prior_spy)
    fitted, real_fit = [], T.mixture_prior

    def fit_spy(vae, x, components, seed):
        fitted.append(dict(x=x, components=components, seed=seed, model=real_fit(vae, x, components, seed)))
        return fitted[-1]["model"]

    monkeypatch.setattr(T, "mixture_prior", fit_spy)
    monkeypatch.setattr(runner, "sample_both_modes", sample_spy)
    monkeypatch.setattr(runner, "sample_metrics", lambda x: {"fid": 1.0})
    monkeypatch.setitem(T.FAST["vaegan"], "pre_steps", 2)
    monkeypatch.setitem(T.FAST["vaegan"], "ft_steps", 3)
    fast = dict(T.FAST["vaegan"])
    g = torch.Generator().manual_seed(0)
    digits = types.SimpleNamespace(train_x=torch.rand(40, 1, 28, 28, generator=g), test_x=torch.rand(500, 1, 28, 28),
                                   test_y=torch.arange(500) % 10)
    row = P.probe("vaegan", seed=2, k=0, digits=digits, mixture=3)
    assert row["mixture"] == 3 and row["seed"] == 2, row
    model = seen["model"]
    assert isinstance(model, T.MixturePriorGenerator) and len(model.means) == 3, \
        f"the trainer should return the decoder behind a 3-component mixture; it returned {type(model).__name__}"
    assert len(fitted) == 1 and fitted[0]["x"] is digits.train_x and (fitted[0]["components"], fitted[0]["seed"]) \
        == (3, 2) and model is fitted[0]["model"], \
        "the trainer should fit 3 components to the training digits' codes with the run's seed, and return that mixture"
    batch = T.FAST["vaegan"]["batch_size"]
    assert drawn[:6] == [batch] * 6 and drawn[-1] == 20, \
        f"every fake of the adversarial phase (3 steps, one batch for D and one for G) should come from the " \
        f"mixture, then the 20 samples; it drew {drawn}"
    assert T.FAST["vaegan"] == fast, f"the probe left its schedule behind: {T.FAST['vaegan']}"

    drawn.clear()
    P.probe("vaegan", seed=1, k=0, digits=digits)
    assert not drawn and type(seen["model"]).__name__ == "VAE", "without --mixture the table's VAE + GAN is trained"

    for kwargs, why in (({"name": "dcgan", "mixture": 3}, "no encoder"), ({"name": "vaegan", "clusters": 4}, "not"),
                        ({"name": "vaegan", "ema": 0.9}, "weight average")):
        with pytest.raises(ValueError, match=why):
            P.probe(seed=0, k=0, digits=digits, **kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        P.check_schedule("vaegan", {"lr": 1e-3})

    runs = _main_with_probe_spy(monkeypatch, ["vaegan", "--mixture", "0", "20"])
    assert runs == [("vaegan", 0, 0, 0, {}), ("vaegan", 0, 0, 20, {})], f"vaegan --mixture 0 20 gave {runs}"
    assert "a Gaussian mixture of 20" in capsys.readouterr().out
    for argv, why in ((["dcgan", "--mixture", "5"], "only vaegan"), (["vaegan", "--clusters", "4"], "not --anchors"),
                      (["vaegan", "--ema", "0.9"], "not --anchors")):
        with pytest.raises(SystemExit):
            P.main(argv)
        assert why in capsys.readouterr().err, f"{argv}: the error should say {why!r}"


def test_fused_adam_reaches_every_adam_of_a_recipe_that_asks_for_it(monkeypatch):
    """A schedule's fused_adam (the CPU goal's recipes) makes every Adam its trainer builds take the fused kernel:
    the self-conditioned players', both phases of the VAE + GAN, every LAPGAN level's; without it the trainers
    build torch's default Adam, as the shipped weights were trained. The clipped WGAN (RMSprop) refuses the key."""
    import types

    import torch
    import probe_prior as P
    import results as runner
    import train_pretrained as T

    made = []
    real_init = torch.optim.Adam.__init__

    def init_spy(self, params, *args, **kwargs):
        real_init(self, params, *args, **kwargs)
        made.append(self.defaults.get("fused"))

    monkeypatch.setattr(torch.optim.Adam, "__init__", init_spy)
    monkeypatch.setattr(runner, "sample_both_modes", lambda model: (torch.rand(20, 1, 28, 28), "eval"))
    monkeypatch.setattr(runner, "sample_metrics", lambda x: {"fid": 1.0})
    monkeypatch.setitem(T.FAST["vaegan"], "pre_steps", 2)
    monkeypatch.setitem(T.FAST["vaegan"], "ft_steps", 2)
    g = torch.Generator().manual_seed(0)
    digits = types.SimpleNamespace(train_x=torch.rand(40, 1, 28, 28, generator=g), train_y=torch.arange(40) % 10,
                                   test_x=torch.rand(500, 1, 28, 28, generator=g), test_y=torch.arange(500) % 10)
    tiny = {"dcgan": {"steps": 2}, "gan": {"steps": 2}, "vaegan": {},
            "lapgan": {"steps": {"8x8": 2, "16x16": 1, "32x32": 1}}}
    for name, clusters, mixture, optimisers in (("dcgan", 4, 0, 2), ("gan", 4, 0, 2), ("vaegan", 0, 3, 3),
                                                ("lapgan", 4, 0, 6)):
        for schedule, want in (({**T.FAST_SELF_CONDITIONED.get(name, {}), "fused_adam": True, **tiny[name]}, True),
                               (tiny[name], None)):
            made.clear()
            P.probe(name, seed=0, k=0, digits=digits, clusters=clusters, mixture=mixture, schedule=schedule)
            assert made == [want] * optimisers, \
                f"{name} with {schedule}: {optimisers} Adams expected, fused={want}; the trainer built {made}"
    assert P.parse_schedule(["fused_adam=1"]) == {"fused_adam": True}
    with pytest.raises(ValueError, match="RMSprop"):
        P.check_schedule("wgan", {"fused_adam": True})


def test_cpu_goal_runs_every_gan_with_its_recipe_and_counts_the_seeds_at_60(monkeypatch, capsys):
    """tools/probe_prior.py --cpu-goal: every noise-to-image GAN the probe knows has a recipe in one place
    (train_pretrained.CPU_GOAL), each runs with its own prior and average on the self-conditioned schedule, the summary
    counts the seeds at FID <= 60, and flags that would change a recipe are refused. The recipes are the ones the
    README's measurements were taken with: changing one means measuring it again."""
    import probe_prior as P
    import train_pretrained as T

    assert set(T.CPU_GOAL) == set(P.MODELS), f"models without a CPU-goal recipe: {set(P.MODELS) - set(T.CPU_GOAL)}"
    measured = {"gan": (50, 0, 0.99), "dcgan": (20, 0, 0.99), "sngan": (20, 0, 0.99), "wgangp": (20, 0, 0.99),
                "lsgan": (50, 0, 0.99), "wgan": (50, 0, 0.995), "lapgan": (200, 0, 0.995), "vaegan": (0, 50, 0.0)}
    runs = _main_with_probe_spy(monkeypatch, ["--cpu-goal", "--seeds", "0", "1"], detail=True)
    assert [run[:2] for run in runs] == [(name, seed) for name in T.CPU_GOAL for seed in (0, 1)], \
        f"--cpu-goal should run every model at each seed; it ran {[run[:2] for run in runs]}"
    for name, seed, k, clusters, mixture, ema, schedule in runs:
        assert (clusters, mixture, ema) == measured[name] and k == 0, \
            f"{name}: expected (clusters, mixture, ema) {measured[name]}, found {(clusters, mixture, ema)}"
        assert schedule == T.FAST_SELF_CONDITIONED.get(name, {}), f"{name} should play its self-conditioned schedule"
    schedules = {run[0]: run[6] for run in runs}
    steps = {name: schedule.get("steps") for name, schedule in schedules.items()}
    assert steps["wgan"] == 1350 and schedules["wgan"]["batch_size"] == 32, schedules["wgan"]
    assert steps["sngan"] == 1150, schedules["sngan"]
    assert steps["lapgan"] == {"8x8": 1200, "16x16": 1000, "32x32": 100}, steps
    assert schedules["lapgan"].get("channels_last") is True, "LAPGAN's levels train channels-last in its recipe"
    fused = {name for name, schedule in schedules.items() if schedule.get("fused_adam") is True}
    assert fused == set(T.CPU_GOAL) - {"wgan", "gan"}, \
        f"every CPU-goal recipe but the clipped WGAN's (RMSprop) and the MLP GAN's uses fused Adam; these do: " \
        f"{sorted(fused)}"
    assert schedules["lapgan"].get("level_ema") == 0.99, "LAPGAN's levels are sampled as averages in its recipe"
    out = capsys.readouterr().out
    row = "| lapgan | 0 | 200 | 0 | 50.0-70.0 (50.0, 70.0) | 1 of 2 | 30.0-31.0 |"
    assert row in out, f"the summary should count one seed of two at FID <= 60; expected {row!r} in\n{out}"

    runs.clear()
    assert P.main(["lsgan", "--cpu-goal"]) == 0
    assert runs == [("lsgan", 0, 0, 50, 0, 0.99, {"lr": 5e-4, "fused_adam": True})], f"--cpu-goal lsgan gave {runs}"
    runs.clear()
    monkeypatch.setitem(T.CPU_GOAL, "dcgan", {"clusters": 7, "ema": 0.9})     # the recipe is read, not restated
    assert P.main(["dcgan", "--cpu-goal"]) == 0
    assert runs == [("dcgan", 0, 0, 7, 0, 0.9, {"fused_adam": True})], \
        f"--cpu-goal should read CPU_GOAL['dcgan']; it ran {runs}"
    for argv, why in ((["--cpu-goal", "--clusters", "20"], "not --clusters"), (["--cpu-goal", "--ema", "0"], "not --ema"),
                      (["--cpu-goal", "--anchors", "0"], "not --anchors"), (["--cpu-goal", "--mixture", "0"],
                      "not --mixture"), (["--cpu-goal", "--schedule", "table"], "not --schedule"),
                      (["--cpu-goal", "--set", "steps=5"], "not --set"), ([], "name at least one model"),
                      (["dcgann"], "unknown model dcgann")):
        with pytest.raises(SystemExit):
            P.main(argv)
        assert why in capsys.readouterr().err, f"{argv}: the error should say {why!r}"
