"""The generators that ship in course_lib/weights: they load, sample in range, and say where they came from."""
import pytest
import torch

from course_lib import pretrained, rng
from course_lib.models import VAE


@pytest.mark.parametrize("name", pretrained.available("generators"))
def test_shipped_model_loads_and_samples(name):
    model = pretrained.load_pretrained(name)
    info = pretrained.pretrained_info(name)
    x = model.sample(16, rng(0))
    assert x.shape == (16, 1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.equal(x, pretrained.load_pretrained(name).sample(16, rng(0))), "same seed, same samples"
    assert model.training == (info["mode"] == "train")
    for key in ("recipe", "seed", "data_source", "device", "train_seconds", "torch_version", "commit", "fid"):
        assert key in info, f"{name}.json lacks {key!r}"
    assert 0 < info["fid"] < 2000   # the clipped WGAN has barely started at the shared budget (lecture 5)


@pytest.mark.parametrize("name", pretrained.available("translators"))
def test_shipped_translator_loads_and_translates(name):
    model = pretrained.load_pretrained(name)
    info = pretrained.pretrained_info(name)
    assert not model.training and info["mode"] == "eval"
    channels = 3 if name == "cyclegan" else 1        # pix2pix and its L1 twin colour plain digits
    x = torch.rand(4, channels, 28, 28, generator=rng(0))
    with torch.no_grad():
        y = model(x)
    assert y.shape == (4, 3, 28, 28) and 0 <= float(y.min()) and float(y.max()) <= 1
    for key in ("recipe", "seed", "data_source", "device", "train_seconds", "torch_version", "commit", "scores"):
        assert key in info, f"{name}.json lacks {key!r}"
    for task, s in info["scores"].items():
        assert s["accuracy"] > 0.4, f"{name} ({task}) keeps the digit far above chance (0.1): {s['accuracy']}"


def test_available_kinds():
    gens, trans = pretrained.available("generators"), pretrained.available("translators")
    assert sorted(gens + trans) == pretrained.available() and {"dcgan", "cgan"} <= set(gens)
    assert set(trans) == {"pix2pix", "l1", "cyclegan"}
    with pytest.raises(ValueError, match="kind must be one of"):
        pretrained.available("samplers")


def test_shipped_weights_stay_small():
    total = sum((pretrained.WEIGHTS_DIR / f"{name}.pt").stat().st_size for name in pretrained.available())
    assert total < 10_000_000, f"shipped weights take {total / 1e6:.1f} MB; keep the student copy small"


def test_vaegan_is_not_assignment_1s_starting_point():
    """Assignment 1 trains VAE(z_dim=16, kind="conv") from seed 0 and rejects weights close to the shipped ones."""
    torch.manual_seed(0)
    start = torch.cat([p.detach().flatten() for p in VAE(z_dim=16, kind="conv").parameters()])
    shipped = torch.cat([p.detach().flatten() for p in pretrained.load_pretrained("vaegan").parameters()])
    assert float(torch.nn.functional.cosine_similarity(start, shipped, dim=0)) < 0.5


def test_unknown_name_and_missing_file(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="expected one of"):
        pretrained.load_pretrained("stylegan")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="train_pretrained.py dcgan"):
        pretrained.load_pretrained("dcgan")
