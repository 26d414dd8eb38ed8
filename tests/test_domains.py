"""The translation domains (course_lib.domains), the translation networks (course_lib.nets) and
metrics.translation_quality."""
import pytest
import torch
from PIL import Image

from course_lib import nets
from course_lib.data import DataUnavailableError, Digits
from course_lib.domains import (PALETTE, colourisation_pairs, colourise, decolourise, edge_map, edges_to_digits, gray3,
                                load_image_domains, plain_and_coloured, textures, to_gray)
from course_lib.metrics import translation_quality


@pytest.fixture(scope="module")
def small_digits():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(60, 1, 28, 28, generator=g) > 0.7).float()
    y = torch.arange(60) % 10
    return Digits(x[:40], y[:40], x[40:], y[40:], "embedded", "test digits")


def test_decolourise_inverts_colourise_exactly():
    x = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(1))   # any gray levels, not just 0/1
    b = colourise(x, torch.Generator().manual_seed(2))
    assert b.shape == (20, 3, 28, 28) and 0 <= b.min() and b.max() <= 1
    assert torch.allclose(decolourise(b), x, atol=1e-6)
    assert torch.allclose(to_gray(gray3(x)), x)
    assert ((PALETTE.amax(1) - PALETTE.amin(1)) == 1).all(), "every stroke colour spans 0 ... 1"


def test_textures_are_gray_in_range_and_seeded():
    t = textures(5, 28, torch.Generator().manual_seed(0))
    assert t.shape == (5, 1, 28, 28) and t.min() >= 0.1 - 1e-6 and t.max() <= 0.6 + 1e-6
    assert torch.equal(t, textures(5, 28, torch.Generator().manual_seed(0)))
    assert not torch.equal(t[0], t[1])


def test_edge_map_is_an_outline():
    x = torch.zeros(2, 1, 28, 28)
    x[0, :, 8:20, 8:20] = 1.0
    e = edge_map(x)
    assert e.shape == x.shape and e[0].max() == 1 and e[1].abs().max() == 0      # an empty image stays empty
    assert e[0, 0, 14, 14] == 0 and e[0, 0, 14, 8] > 0.5                       # flat inside, bright on the border


def test_plain_and_coloured_split(small_digits):
    u = plain_and_coloured(small_digits, seed=0)
    assert u.train_a.shape == (20, 3, 28, 28) and u.train_b.shape == (20, 3, 28, 28)
    assert torch.allclose(to_gray(u.test_a), small_digits.test_x) and torch.allclose(
        decolourise(u.test_b), small_digits.test_x, atol=1e-6), "test pairs show the same digit"
    a_digits, b_digits = to_gray(u.train_a).flatten(1), decolourise(u.train_b).flatten(1)
    shared = (torch.cdist(a_digits, b_digits) < 1e-4).any()
    assert not shared, "no training digit is in both domains"
    again = plain_and_coloured(small_digits, seed=0)
    assert torch.equal(again.train_b, u.train_b) and torch.equal(again.test_b, u.test_b)


def test_edges_to_digits(small_digits):
    p = edges_to_digits(small_digits)
    assert torch.equal(p.train_y, small_digits.train_x) and torch.equal(p.test_x, edge_map(small_digits.test_x))


def test_colourisation_pairs_share_the_unpaired_test_truth(small_digits):
    p, u = colourisation_pairs(small_digits), plain_and_coloured(small_digits)
    assert p.train_y.shape == (40, 3, 28, 28) and torch.allclose(decolourise(p.train_y), small_digits.train_x, atol=1e-6)
    assert torch.equal(p.test_y, u.test_b) and torch.equal(p.test_x, small_digits.test_x)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"decolourise: expected images \(N, 3, H, W\), got \(2, 1, 28, 28\)"):
        decolourise(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="colourise"):
        colourise(torch.rand(2, 3, 28, 28))


def _save(path, w, h, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), value).save(path)


def test_load_image_domains_layouts(tmp_path, monkeypatch):
    with pytest.raises(DataUnavailableError, match="nothing downloads|download it yourself"):
        load_image_domains("horse2zebra", root=tmp_path / "absent")
    for split in ("trainA", "trainB", "testA", "testB"):
        _save(tmp_path / "h2z" / split / "0.jpg", 16, 16, (200, 10, 10))
    u = load_image_domains("h2z", root=tmp_path / "h2z", size=8)
    assert u.train_a.shape == (1, 3, 8, 8) and u.test_labels is None
    img = Image.new("RGB", (32, 16), (0, 0, 0))
    img.paste((255, 255, 255), (16, 0, 32, 16))                  # left half input, right half target
    for split in ("train", "val"):
        (tmp_path / "facades" / split).mkdir(parents=True)
        img.save(tmp_path / "facades" / split / "1.png")
    p = load_image_domains("facades", root=tmp_path / "facades", size=None)
    assert p.train_x.shape == (1, 3, 16, 16) and p.train_x.max() == 0 and p.train_y.min() == 1
    (tmp_path / "odd" / "images").mkdir(parents=True)
    with pytest.raises(DataUnavailableError, match="neither CycleGAN's layout"):
        load_image_domains("odd", root=tmp_path / "odd")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert load_image_domains("h2z", size=8).train_b.shape == (1, 3, 8, 8)


@pytest.mark.parametrize("skips", [True, False])
def test_unet_shapes_and_skips(skips):
    torch.manual_seed(0)
    u = nets.UNet(1, 1, width=8, depth=2, skips=skips).eval()
    assert u(torch.rand(3, 1, 28, 28)).shape == (3, 1, 28, 28)
    assert nets.UNet(3, 1, width=8, depth=3)(torch.rand(2, 3, 32, 32)).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="divisible by 4"):
        u(torch.rand(1, 1, 30, 30))
    # with skips, the last layer sees the stem's features directly: its input has twice the stem's channels
    assert u.head.in_channels == (16 if skips else 8)


def test_patch_discriminator_geometry():
    D = nets.PatchDiscriminator(in_channels=2, width=8, n_layers=2)
    assert D.layers == [(4, 2, 1), (4, 2, 1), (4, 1, 1), (4, 1, 1)]
    x = torch.rand(4, 1, 28, 28)
    assert D(x, x).shape == (4, 1, 5, 5)
    with pytest.raises(ValueError, match="2 channels in all"):
        D(x)


@pytest.mark.parametrize("up", ["resize", "transpose"])
def test_resnet_translator(up):
    R = nets.ResnetTranslator(3, 3, width=8, n_blocks=1, up=up)
    y = R(torch.rand(2, 3, 28, 28))
    assert y.shape == (2, 3, 28, 28) and 0 <= y.min() and y.max() <= 1
    with pytest.raises(ValueError, match="up must be one of"):
        nets.ResnetTranslator(up="pixelshuffle")


def test_conditional_players():
    G, D = nets.ConditionalGenerator(width=8), nets.ConditionalDiscriminator(width=8)
    x = G.sample(20, torch.Generator().manual_seed(0))
    assert x.shape == (20, 1, 28, 28)
    assert torch.equal(x, G.sample(20, torch.Generator().manual_seed(0), labels=torch.arange(20) % 10))
    assert D(x, torch.arange(20) % 10).shape == (20,)
    with pytest.raises(ValueError, match=r"labels must lie in 0 \.\.\. 9"):
        D(x, torch.full((20,), 10))
    with pytest.raises(ValueError, match="integer labels"):
        G(torch.randn(3, 64), torch.zeros(3))


def test_translation_quality():
    x = torch.rand(10, 1, 28, 28)
    q = translation_quality(x, x, torch.zeros(10, dtype=torch.long))
    assert q["pixel_l1"] == 0 and 0 <= q["accuracy"] <= 1
    assert translation_quality(torch.zeros(4, 1, 28, 28), torch.ones(4, 1, 28, 28), [0] * 4)["pixel_l1"] == 1
    with pytest.raises(ValueError, match="same images"):
        translation_quality(x, x[:5], [0] * 10)
