import json
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from course_lib import data, evaluation, metrics


def _random_spd(d, rng):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _scipy_frechet(mu1, s1, mu2, s2):
    """The textbook formula with SciPy's matrix square root (no ``disp``: SciPy 1.18 removed it)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


# ---------------------------------------------------------------- Fréchet distance

def test_frechet_closed_form():
    # N(0, I) vs N(0, [[2, -1], [-1, 2]]): Tr = 2 + 4, and S1 S2 has eigenvalues 1 and 3.
    got = evaluation.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.array([[2.0, -1.0], [-1.0, 2.0]]))
    want = 4 - 2 * math.sqrt(3)
    assert isinstance(got, float), f"expected a Python float, got {type(got).__name__}"
    assert abs(got - want) < 1e-12, f"expected 4 - 2 sqrt(3) = {want:.15f}, got {got:.15f}"


@pytest.mark.parametrize("d", [3, 20, 64])
def test_frechet_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _random_spd(d, rng), _random_spd(d, rng)
    got, want = evaluation.frechet_distance(mu1, s1, mu2, s2), _scipy_frechet(mu1, s1, mu2, s2)
    assert abs(got - want) <= 1e-6 * abs(want), f"d={d}: expected {want!r} (scipy sqrtm), got {got!r}"


def test_fid_is_symmetric_zero_on_identical_sets_and_sees_a_mean_shift():
    rng = np.random.default_rng(0)
    f1 = rng.standard_normal((300, 8)) @ rng.standard_normal((8, 8))
    f2 = rng.standard_normal((200, 8)) * 2 + 1
    ab, ba = evaluation.fid_from_features(f1, f2), evaluation.fid_from_features(f2, f1)
    assert abs(ab - ba) <= 1e-9 * ab, f"expected FID(a, b) == FID(b, a), got {ab!r} and {ba!r}"
    same = evaluation.fid_from_features(f1, f1.copy())
    assert 0 <= same < 1e-9, f"expected FID 0 for two identical feature sets, got {same!r}"
    # Same covariance, means apart by v: only ||v||^2 is left.
    v = np.arange(8.0) / 4
    shifted = evaluation.fid_from_features(f1, f1 + v)
    assert abs(shifted - v @ v) <= 1e-9 * (v @ v), f"expected ||v||^2 = {v @ v!r} for a pure shift, got {shifted!r}"


def test_torch_input_and_gaussian_stats():
    f = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    mu, sigma = metrics.gaussian_stats(f)
    assert mu.dtype == np.float64 and mu.shape == (4,) and sigma.shape == (4, 4), (
        f"expected float64 mean (4,) and covariance (4, 4), got {mu.dtype} {mu.shape} and {sigma.shape}")
    want = np.cov(f.double().numpy(), rowvar=False)
    assert np.allclose(sigma, want, rtol=1e-12), "expected the unbiased covariance np.cov(f, rowvar=False)"


def test_fewer_samples_than_dimensions_warns_but_returns_a_real_number():
    rng = np.random.default_rng(1)
    f1, f2 = rng.standard_normal((10, 32)), rng.standard_normal((12, 32)) + 0.5
    with pytest.warns(metrics.RankDeficientWarning, match="rank-deficient") as record:
        value = evaluation.fid_from_features(f1, f2)
    assert "10 samples in 32 dimensions" in str(record[0].message), (
        f"expected the warning to name n=10 and d=32, got: {record[0].message}")
    assert isinstance(value, float) and math.isfinite(value) and value > 0, (
        f"expected a finite positive float for two different rank-deficient fits, got {value!r}")


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="at least 2 samples, got 1"):
        metrics.gaussian_stats(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"mu1 \(3,\), sigma1 \(3, 3\), mu2 \(4,\)"):
        evaluation.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="same dimension"):
        evaluation.fid_from_features(np.ones((5, 3)), np.ones((5, 4)))
    with pytest.raises(ValueError, match="NaN or inf"):
        metrics.gaussian_stats(np.full((5, 2), np.nan))


def test_matches_torchmetrics_fid():
    from torchmetrics.image.fid import FrechetInceptionDistance

    class PassThrough(torch.nn.Module):
        """Features in, features out: torchmetrics then works on our pre-computed float64 features."""
        num_features = 16

        def forward(self, x):
            return x

    g = torch.Generator().manual_seed(0)
    real = torch.randn(400, 16, generator=g, dtype=torch.float64)
    fake = torch.randn(300, 16, generator=g, dtype=torch.float64) @ (torch.eye(16, dtype=torch.float64) * 1.5) + 0.2
    tm = FrechetInceptionDistance(feature=PassThrough())
    tm.update(real, real=True)
    tm.update(fake, real=False)
    want = tm.compute().item()
    got = evaluation.fid_from_features(fake, real)
    assert abs(got - want) <= 1e-6 * abs(want), f"expected torchmetrics' FID {want!r}, got {got!r}"


# ---------------------------------------------------------------- Inception Score

def test_inception_score_extremes():
    c = 10
    uniform_one_hot = np.eye(c)[np.arange(200) % c]  # every chunk of 20 holds each class twice
    mean, std = evaluation.inception_score(uniform_one_hot, splits=10)
    assert abs(mean - c) < 1e-9 and std < 1e-9, f"expected IS {c} ± 0 for confident balanced predictions, got " \
                                                f"{mean} ± {std}"
    same = np.tile([0.7, 0.2, 0.1], (90, 1))
    mean, std = evaluation.inception_score(torch.tensor(same), splits=3)
    assert abs(mean - 1) < 1e-9 and std < 1e-9, f"expected IS 1 ± 0 when every row is the same, got {mean} ± {std}"


def test_inception_score_splits():
    half = np.eye(2)[np.repeat([0, 1], 50)]  # 50 rows of class 0, then 50 of class 1
    one = evaluation.inception_score(half, splits=1)
    two = evaluation.inception_score(half, splits=2)
    assert np.allclose(one, (2, 0)), f"expected (2, 0) on one chunk holding both classes, got {one}"
    assert np.allclose(two, (1, 0)), f"expected (1, 0) when each chunk holds one class, got {two}"
    uneven = evaluation.inception_score(np.eye(2)[np.arange(101) % 2], splits=4)  # chunks of 26, 25, 25, 25
    assert 1.99 < uneven[0] <= 2 and uneven[1] > 0, f"expected mean just under 2 and std > 0, got {uneven}"


def test_inception_score_validation():
    with pytest.raises(ValueError, match="sum to 1"):
        evaluation.inception_score(np.random.default_rng(0).standard_normal((20, 3)))  # logits, not probabilities
    with pytest.raises(ValueError, match=r"between 1 and the number of samples \(5\); got 6"):
        evaluation.inception_score(np.full((5, 2), 0.5), splits=6)


# ---------------------------------------------------------------- kernel MMD

def _mmd2_brute(x, y, k):
    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(a, b) for a in x for b in y) / (n * m)
    return kxx + kyy - 2 * kxy


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
def test_mmd_matches_the_formula(kernel):
    rng = np.random.default_rng(2)
    x, y, scales = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) + 1, [0.5, 2.0]
    if kernel == "rbf":
        k = lambda a, b: sum(np.exp(-((a - b) ** 2).sum() / (2 * s * s)) for s in scales)  # noqa: E731
    else:
        k = lambda a, b: sum(2 * 3 * s * s / (2 * 3 * s * s + ((a - b) ** 2).sum()) for s in scales)  # noqa: E731
    got, want = evaluation.mmd2_unbiased(x, y, kernel, scales), _mmd2_brute(x, y, k)
    assert abs(got - want) < 1e-12, f"{kernel}: expected {want!r} from the definition, got {got!r}"


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
def test_mmd_same_vs_shifted_and_symmetric(kernel):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 10, generator=g), torch.randn(300, 10, generator=g)
    same, shifted = evaluation.mmd2_unbiased(x, y, kernel), evaluation.mmd2_unbiased(x, y + 0.5, kernel)
    assert abs(same) < 0.01, f"{kernel}: expected MMD² near 0 for one distribution, got {same:.4g}"
    assert shifted > 0.02 and shifted > 10 * abs(same), (
        f"{kernel}: expected a clearly positive MMD² for a mean shift of 0.5, got {shifted:.4g} (same: {same:.4g})")
    back = evaluation.mmd2_unbiased(y + 0.5, x, kernel)
    assert abs(back - shifted) < 1e-12, f"{kernel}: expected MMD²(x, y) == MMD²(y, x), got {shifted!r} and {back!r}"


def test_mmd_is_unbiased_so_it_can_be_negative():
    rng = np.random.default_rng(3)
    values = [evaluation.mmd2_unbiased(rng.standard_normal((30, 2)), rng.standard_normal((30, 2)), scales=[1.0])
              for _ in range(40)]
    assert min(values) < 0, f"expected some negative estimates when both samples share a distribution, got " \
                            f"min {min(values):.4g}"
    assert abs(np.mean(values)) < 3 * np.std(values) / math.sqrt(len(values)), (
        f"expected a mean of 0 within 3 standard errors, got {np.mean(values):.4g} ± {np.std(values):.4g}")


def test_mmd_validation():
    with pytest.raises(ValueError, match="at least 2 points.*n=1 and m=5"):
        evaluation.mmd2_unbiased(np.ones((1, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="expected one of rbf, imq"):
        evaluation.mmd2_unbiased(np.ones((3, 2)), np.ones((3, 2)), kernel="linear")


# ---------------------------------------------------------------- nearest neighbours

def test_nearest_neighbours_match_brute_force():
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(200, 1, 4, 4, generator=g)
    queries = torch.cat([torch.rand(40, 1, 4, 4, generator=g), ref[[5, 17]]])  # two exact copies at the end
    dist, idx = metrics.nearest_neighbours(queries, ref, k=3, batch_size=16)
    full = torch.cdist(queries.flatten(1).double(), ref.flatten(1).double(),
                       compute_mode="donot_use_mm_for_euclid_dist")
    want_d, want_i = full.topk(3, dim=1, largest=False)
    assert dist.shape == (42, 3) and idx.shape == (42, 3), f"expected (42, 3) results, got {tuple(dist.shape)}"
    assert torch.equal(idx, want_i), f"expected indices {want_i[:2].tolist()} ..., got {idx[:2].tolist()} ..."
    assert torch.allclose(dist.double(), want_d, atol=1e-5), (
        f"expected distances {want_d[:2].tolist()} ..., got {dist[:2].tolist()} ...")
    assert dist[-2:, 0].tolist() == [0.0, 0.0] and idx[-2:, 0].tolist() == [5, 17], (
        f"expected exact copies at distance 0 from reference 5 and 17, got {dist[-2:, 0].tolist()} at "
        f"{idx[-2:, 0].tolist()}")
    with pytest.raises(ValueError, match="between 1 and the reference size"):
        metrics.nearest_neighbours(queries, ref[:2], k=3)


# ---------------------------------------------------------------- FeatureNet, FID and IS of images

@pytest.fixture(scope="module")
def digits():
    return data.load_mnist(source="embedded", verbose=False)


@pytest.fixture(scope="module")
def net():
    return metrics.load_feature_net()


def test_weights_are_small_and_load(net, digits):
    path = metrics.WEIGHTS_DIR / "feature_net.pt"
    size = path.stat().st_size
    assert size < 1_000_000, f"expected the shipped weights under 1 MB, found {size:,} bytes"
    assert not net.training, "expected load_feature_net() to return the network in eval mode"
    x = digits.test_x[:7].to(metrics._net_device(net))  # the net sits on course_lib.device(): a GPU when there
    shapes = (tuple(net(x).shape), tuple(net.features(x).shape), tuple(net.probs(x).shape))
    assert shapes == ((7, 10), (7, 64), (7, 10)), f"expected logits, features, probs shapes (7, 10), (7, 64), " \
                                                  f"(7, 10); got {shapes}"


def test_accuracy_matches_the_recorded_one(net, digits):
    info = json.loads((metrics.WEIGHTS_DIR / "feature_net.json").read_text())
    with torch.no_grad():
        pred = net(digits.test_x.to(metrics._net_device(net))).argmax(1).cpu()
    acc = (pred == digits.test_y).double().mean().item()
    assert acc >= info["embedded_test_accuracy"] - 0.005, (
        f"expected accuracy on the 500 embedded test digits of at least {info['embedded_test_accuracy']:.1%} "
        f"- 0.5% (recorded in feature_net.json), got {acc:.1%}")


def test_missing_or_corrupt_weights_say_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="python tools/train_feature_net.py"):
        metrics.load_feature_net(path=tmp_path / "absent.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="corrupt.*python tools/train_feature_net.py"):
        metrics.load_feature_net(path=bad)


def test_fid_of_real_digits_is_small_next_to_noise(net, digits, capsys):
    real = metrics.fid(digits.test_x, digits.train_x[:500], net)
    line = capsys.readouterr().out.strip()
    assert line == str(real) and line.startswith("FID ") and "(500 samples vs 500 reference, 64-D LeNet" in line, (
        f"expected one printed line like 'FID 6.12 (500 samples vs 500 reference, 64-D LeNet features)', got {line!r}")
    noise = torch.rand(500, 784, generator=torch.Generator().manual_seed(0))
    fake = metrics.fid(noise, digits.train_x[:500], net, verbose=False)
    assert real.value < 0.05 * fake.value, (
        f"expected FID(test, train) far below FID(noise, train); got {real.value:.2f} and {fake.value:.2f}")
    flat = metrics.fid(digits.test_x.flatten(1), digits.train_x[:500], net, verbose=False)
    assert abs(flat.value - real.value) < 1e-9 * real.value, (
        f"expected the same FID for (N, 784) and (N, 1, 28, 28) inputs, got {flat.value} and {real.value}")


def test_fid_input_errors(net):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\) or \(N, 784\); got \(4, 3, 32, 32\)"):
        metrics.fid(torch.rand(4, 3, 32, 32), torch.rand(4, 784), net)
    with pytest.raises(ValueError, match=r"pixel values in \[0, 1\].*\(x \+ 1\) / 2"):
        metrics.fid(torch.rand(4, 784) * 2 - 1, torch.rand(4, 784), net)


def test_inception_score_of_digits(net, digits):
    real_mean, _ = evaluation.inception_score_of(digits.test_x, net, splits=5)
    noise_mean, _ = evaluation.inception_score_of(torch.rand(500, 784, generator=torch.Generator().manual_seed(0)),
                                               net, splits=5)
    assert 9 < real_mean <= 10, f"expected IS close to 10 on 500 balanced real digits, got {real_mean:.2f}"
    assert noise_mean < 0.5 * real_mean, f"expected noise to score far below real digits, got {noise_mean:.2f}"


def test_load_inception_without_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv(metrics.INCEPTION_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="COURSE_INCEPTION_WEIGHTS"):
        metrics.load_inception()
    monkeypatch.setenv(metrics.INCEPTION_ENV, str(tmp_path / "inception.pth"))
    with pytest.raises(FileNotFoundError, match="no such file"):
        metrics.load_inception()


def test_the_tool_and_the_reference_agree(net, digits):
    """metrics.fid takes SciPy's matrix square root; assignment 5's reference takes eigenvalues. Same number."""
    f_real, f_train = metrics.features(digits.test_x, net), metrics.features(digits.train_x[:500], net)
    want = evaluation.fid_from_features(f_real, f_train)
    got = metrics.fid(digits.test_x, digits.train_x[:500], net, verbose=False).value
    assert abs(got - want) <= 1e-6 * want, f"expected {want!r} from the reference route, got {got!r}"
    probs = metrics.class_probs(digits.test_x[:50], net)
    assert probs.shape == (50, 10) and torch.allclose(probs.sum(1), torch.ones(50, dtype=torch.float64))


# ---------------------------------------------------------------- precision and recall (Kynkäänniemi et al., 2019)

def _pr_brute(samples, reference, k):
    """The definition, with full distance matrices: radius = k-th nearest other point of the same set."""
    def radii(z):
        d = torch.cdist(z, z, compute_mode="donot_use_mm_for_euclid_dist")
        d.fill_diagonal_(float("inf"))
        return d.sort(1).values[:, k - 1]

    def share_inside(q, c):
        d = torch.cdist(q, c, compute_mode="donot_use_mm_for_euclid_dist")
        return (d <= radii(c)).any(1).double().mean().item()

    return share_inside(samples, reference), share_inside(reference, samples)


def _clusters(centres, per_cluster, std, g):
    return torch.cat([c + std * torch.randn(per_cluster, len(c), generator=g, dtype=torch.float64) for c in centres])


def test_precision_recall_identical_and_far_apart():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    same = metrics.precision_recall_from_features(x, x.clone())
    assert same == (1.0, 1.0), f"expected precision and recall 1 for identical sets, got {same}"
    far = metrics.precision_recall_from_features(x + 1000.0, x)
    assert far == (0.0, 0.0), f"expected precision and recall 0 for sets far apart, got {far}"


def test_precision_recall_half_the_modes():
    """Samples from 5 of the reference's 10 well separated clusters: realistic (precision high), half covered."""
    g = torch.Generator().manual_seed(1)
    angles = torch.arange(10, dtype=torch.float64) * 2 * math.pi / 10
    centres = 10 * torch.stack([angles.cos(), angles.sin()], 1)          # 10 modes, about 6 apart, std 0.3
    reference = _clusters(centres, 50, 0.3, g)
    samples = _clusters(centres[:5], 100, 0.3, g)                         # fresh draws from modes 0-4 only
    precision, recall = metrics.precision_recall_from_features(samples, reference, k=3)
    assert precision > 0.85, f"expected most samples inside the reference's support, got precision {precision:.3f}"
    assert 0.4 < recall <= 0.5, f"expected recall about 1/2 (5 of 10 modes covered), got {recall:.3f}"
    # and the other way round: a blurred copy of every mode (std 3x) covers everything but is mostly off-data
    blurred = _clusters(centres, 50, 0.9, g)
    precision_b, recall_b = metrics.precision_recall_from_features(blurred, reference, k=3)
    assert precision_b < 0.6 < recall_b, f"expected low precision and high recall for blurred modes, got " \
                                         f"{precision_b:.3f} and {recall_b:.3f}"


@pytest.mark.parametrize("k", [1, 3, 7])
def test_precision_recall_match_the_definition(k):
    g = torch.Generator().manual_seed(k)
    reference = torch.randn(230, 8, generator=g, dtype=torch.float64)
    samples = 1.2 * torch.randn(170, 8, generator=g, dtype=torch.float64) + 0.3
    got = metrics.precision_recall_from_features(samples, reference, k=k, batch_size=64)
    want = _pr_brute(samples, reference, k)
    assert got == want, f"k={k}: expected {want} from full distance matrices, got {got}"


def test_knn_radius_leaves_the_point_itself_out():
    pts = torch.tensor([[0.0], [1.0], [3.0], [3.0]], dtype=torch.float64)
    r1 = metrics.knn_radii(pts, k=1).tolist()
    assert r1 == [1.0, 1.0, 0.0, 0.0], f"expected the nearest *other* point (a duplicate counts, at 0), got {r1}"
    r2 = metrics.knn_radii(pts, k=2).tolist()
    assert r2 == [3.0, 2.0, 2.0, 2.0], f"expected the 2nd nearest other point, got {r2}"
    # Ten images repeated: every radius is 0, so only exact copies fall inside that set's support.
    x = torch.randn(40, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    precision, recall = metrics.precision_recall_from_features(x[:10].repeat(5, 1), x, k=3)
    assert precision == 1.0 and recall == 10 / 40, f"expected (1, 10/40) for 10 repeated reference points, got " \
                                                  f"{(precision, recall)}"


def test_precision_recall_validation():
    x = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"k must be smaller than both set sizes.*k=5 with 5 samples and 8 reference"):
        metrics.precision_recall_from_features(x, np.ones((8, 3)), k=5)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        metrics.precision_recall_from_features(x, x, k=0)
    with pytest.raises(ValueError, match="k must be a positive integer, got 2.5"):
        metrics.precision_recall_from_features(x, x, k=2.5)
    with pytest.raises(ValueError, match=r"same dimension; got \(5, 3\) and \(6, 4\)"):
        metrics.precision_recall_from_features(x, np.ones((6, 4)))
    with pytest.raises(ValueError, match="2-D array"):
        metrics.precision_recall_from_features(np.zeros(5), x)
    with pytest.raises(ValueError, match="NaN or inf"):
        metrics.precision_recall_from_features(np.full((5, 3), np.nan), x)
    with pytest.raises(ValueError, match=r"1 <= k < N.*k=4 for N=4"):
        metrics.knn_radii(np.ones((4, 2)), k=4)


def test_precision_recall_of_digits(net, digits, capsys):
    same = metrics.precision_recall(digits.test_x[:200], digits.test_x[:200], net=net)
    line = capsys.readouterr().out.strip()
    assert (same.precision, same.recall) == (1.0, 1.0), f"expected (1, 1) for identical images, got {same}"
    assert line == str(same) and "k=3; 200 samples vs 200 reference, 64-D LeNet features" in line, line
    precision, recall = metrics.precision_recall(digits.train_x[:500], digits.test_x, net=net, verbose=False)
    assert precision > 0.6 and recall > 0.6, f"expected real training digits to score high on both, got " \
                                             f"{precision:.3f}, {recall:.3f}"
    flipped = metrics.precision_recall(digits.train_x[:500].flip(2), digits.test_x, net=net, verbose=False)
    assert flipped.precision < precision - 0.1, (
        f"expected upside-down digits to look less real than digits, got precision {flipped.precision:.3f} "
        f"against {precision:.3f}")
    # Noise: its features are alike, so its own balls are tiny and cover no digit. (Its precision is no test: its
    # features fall in the middle of the digits' cloud, where a few atypical digits have large balls.)
    noise = torch.rand(500, 784, generator=torch.Generator().manual_seed(0))
    noisy = metrics.precision_recall(noise, digits.test_x, net=net, verbose=False)
    assert noisy.recall == 0.0, f"expected noise to cover no real digit, got recall {noisy.recall:.3f}"
    with pytest.raises(ValueError, match=r"pixel values in \[0, 1\]"):
        metrics.precision_recall(noise * 2 - 1, digits.test_x, net=net)
