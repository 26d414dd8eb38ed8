"""Tools that measure models: the feature network, FID of two image sets, nearest neighbours.

FID is the squared Fréchet distance ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½) between Gaussian fits of network
features of two image sets. ``fid`` computes the matrix square root with SciPy (the route of the reference FID
code); assignment 5's reference answers (the Fréchet distance by eigenvalues, the Inception Score, the kernel
MMD) are in ``course_lib.evaluation``, and the tests check that the two routes agree. ImageNet Inception
features mean little for 28x28 digits (and its weights are a download), so the course measures FID and IS
with ``FeatureNet``, a LeNet-style MNIST classifier whose weights ship in ``course_lib/weights``: numbers
are comparable only between runs that use that same network, and only at the same sample sizes.

``precision_recall`` separates the two things FID folds into one number: how many samples look real (precision)
and how much of the real data the samples cover (recall), with the k-nearest-neighbour estimate of each set's
support of Kynkäänniemi et al. (2019).

``python tools/train_feature_net.py`` (from the repository root) re-creates the weights.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from .nets import as_images
from .runtime import device as default_device

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TRAIN_COMMAND = "python tools/train_feature_net.py"


class RankDeficientWarning(UserWarning):
    """A covariance estimated from no more samples than dimensions: singular, and FID from it is unreliable."""


def _np64(x) -> np.ndarray:
    """A float64 numpy array from a tensor (on any device) or anything numpy reads."""
    if torch.is_tensor(x):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _as_2d_float64(x, name: str) -> np.ndarray:
    """(N, d) float64 numpy array from a tensor or array, or a ValueError that says what was found."""
    x = _np64(x)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N samples, d features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: expected finite numbers, found {int((~np.isfinite(x)).sum())} NaN or inf "
                         "entries; check the network or the samples that produced them")
    return x


# ---------------------------------------------------------------- Fréchet distance

def gaussian_stats(features):
    """Mean (d,) and unbiased covariance (d, d), in float64, of features (N, d): the Gaussian fit FID uses."""
    f = _as_2d_float64(features, "gaussian_stats")
    n, d = f.shape
    if n < 2:
        raise ValueError(f"gaussian_stats: a covariance needs at least 2 samples, got {n} (features of shape "
                         f"{f.shape})")
    if n <= d:
        # n samples give a covariance of rank at most n - 1 < d: Tr((S1 S2)^½) is then estimated badly.
        warnings.warn(f"the covariance of {n} samples in {d} dimensions is rank-deficient (rank <= {n - 1}): "
                      f"FID with n={n} samples in d={d} dimensions is biased and unstable; use more than {d} "
                      "samples (several times more is better)", RankDeficientWarning, stacklevel=2)
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


# ---------------------------------------------------------------- nearest neighbours

@torch.no_grad()
def nearest_neighbours(queries, reference, k: int = 3, batch_size: int = 1024):
    """The k nearest reference rows of every query in Euclidean distance on flattened pixels (or features).

    Returns (distances, indices), each (Nq, k), nearest first. Candidates are found with one matrix product
    per batch of queries; their distances are then recomputed from differences, so an exact copy of a
    reference image has distance exactly 0 (useful to catch a generator that memorised its training set).
    """
    q = torch.as_tensor(queries).detach().float()
    r = torch.as_tensor(reference).detach().float().to(q.device)
    q, r = q.reshape(len(q), -1), r.reshape(len(r), -1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"nearest_neighbours: queries and reference need the same number of values per item; "
                         f"got queries {tuple(q.shape)} and reference {tuple(r.shape)} after flattening")
    if not 1 <= k <= len(r):
        raise ValueError(f"nearest_neighbours: k must be between 1 and the reference size ({len(r)}); got k={k}")
    r_sq = r.pow(2).sum(1)
    dists, idx = [], []
    for i in range(0, len(q), batch_size):
        qb = q[i:i + batch_size]
        d2 = r_sq - 2.0 * qb @ r.T  # ||q||² is the same for every candidate: not needed to rank them
        cand = d2.topk(k, dim=1, largest=False).indices
        exact = (qb.unsqueeze(1) - r[cand]).pow(2).sum(-1).sqrt()
        exact, order = exact.sort(dim=1)
        dists.append(exact)
        idx.append(cand.gather(1, order))
    return torch.cat(dists), torch.cat(idx)


# ---------------------------------------------------------------- the feature network

class FeatureNet(nn.Module):
    """LeNet-5-style MNIST classifier: (conv 5x5, ReLU, max-pool) twice, then 400 -> 120 -> 64 -> 10.

    ``features`` gives the penultimate layer, the 64 values FID compares, taken before that layer's ReLU:
    after it, about 10 of the 64 units are 0 on every digit and the covariance would be singular.
    """

    feature_dim = 64

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 28 -> 14
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),             # 14 -> 10 -> 5
            nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, self.feature_dim))
        self.head = nn.Linear(self.feature_dim, 10)

    def features(self, x):
        return self.fc(self.conv(as_images(x, "FeatureNet")))

    def forward(self, x):
        return self.head(F.relu(self.features(x)))

    def probs(self, x):
        return F.softmax(self(x), dim=1)


def load_feature_net(device=None, path=None) -> FeatureNet:
    """The course's trained FeatureNet, in eval mode, on ``device`` (default: ``course_lib.device()``)."""
    path = Path(path) if path is not None else WEIGHTS_DIR / "feature_net.pt"
    if not path.is_file():
        raise FileNotFoundError(f"The feature network's weights are missing: expected a file at {path}. "
                                f"Run `{TRAIN_COMMAND}` (about 2 minutes on a CPU) to create them.")
    net = FeatureNet()
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # unpickling and shape errors come as several types
        raise RuntimeError(f"The feature network's weights at {path} could not be loaded ({type(exc).__name__}: "
                           f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}). The file is "
                           f"corrupt or from another architecture: run `{TRAIN_COMMAND}` to re-create it.") from exc
    return net.to(device if device is not None else default_device()).eval()


def _net_device(net: nn.Module) -> torch.device:
    p = next(net.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def _network_outputs(images, net: nn.Module, method: str, batch_size: int, device, who: str) -> torch.Tensor:
    """Apply net.<method> to images in batches under no_grad, in eval mode; (N, k) float64 on the CPU."""
    x = torch.as_tensor(images).detach()
    x = as_images(x, who)
    if not torch.isfinite(x).all():
        raise ValueError(f"{who}: expected finite pixel values, found NaN or inf")
    lo, hi = float(x.min()), float(x.max())
    if lo < -0.01 or hi > 1.01:
        raise ValueError(f"{who}: expected pixel values in [0, 1], found values from {lo:.3g} to {hi:.3g}. A tanh "
                         "generator gives [-1, 1]: pass (x + 1) / 2; 0..255 images: pass x / 255; Gaussian decoder "
                         "means: pass x.clamp(0, 1)")
    dev = torch.device(device) if device is not None else _net_device(net)
    was_training = net.training
    net.to(dev).eval()
    try:
        out = [getattr(net, method)(x[i:i + batch_size].to(dev).float()).double().cpu()
               for i in range(0, len(x), batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(out)


def features(images, net=None, batch_size: int = 500, device=None) -> torch.Tensor:
    """FeatureNet's 64-D features of images (N, 1, 28, 28) or (N, 784) in [0, 1]: (N, 64) float64 on the CPU.

    Computed in batches under no_grad on ``device`` (default: where ``net`` is; ``net`` defaults to the
    shipped FeatureNet on ``course_lib.device()``). These are the features ``fid`` compares."""
    net = net if net is not None else load_feature_net(device)
    return _network_outputs(images, net, "features", batch_size, device, "features()")


def class_probs(images, net=None, batch_size: int = 500, device=None) -> torch.Tensor:
    """FeatureNet's class probabilities p(y|x) of images: (N, 10) float64 on the CPU (what IS uses)."""
    net = net if net is not None else load_feature_net(device)
    return _network_outputs(images, net, "probs", batch_size, device, "class_probs()")


def translation_quality(outputs, targets, labels, net=None, batch_size: int = 500, device=None) -> dict:
    """How good translated digits are when the truth is known (lecture 7): ``pixel_l1``, the mean |output - target|
    over pixels, and ``accuracy``, the share of outputs that FeatureNet (the shipped digit classifier) reads as
    their ``labels`` (is the digit preserved?). ``outputs`` and ``targets``: digits (N, 1, 28, 28) in [0, 1]."""
    outputs, targets = (as_images(torch.as_tensor(t).detach().float().cpu(), "translation_quality")
                        for t in (outputs, targets))
    if outputs.shape != targets.shape or len(labels) != len(outputs):
        raise ValueError(f"translation_quality: outputs {tuple(outputs.shape)}, targets {tuple(targets.shape)} and "
                         f"{len(labels)} labels must describe the same images")
    pred = class_probs(outputs, net, batch_size, device).argmax(1)
    return {"pixel_l1": float((outputs - targets).abs().mean()),
            "accuracy": float((pred == torch.as_tensor(labels).cpu()).double().mean())}


def _frechet_sqrtm(mu1, s1, mu2, s2) -> float:
    """The squared Fréchet distance with SciPy's matrix square root of S1 S2 (Heusel et al.'s route). A singular
    product can make sqrtm fail; then, as their code does, both covariances get a tiny ridge."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        ridge = np.eye(len(s1)) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + ridge) @ (s2 + ridge))
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean.real))
    if -1e-9 * (1.0 + np.trace(s1) + np.trace(s2)) < value < 0.0:  # round-off around identical sets
        value = 0.0
    return value


@dataclass
class FIDResult:
    """An FID value with the sample sizes and feature dimension it depends on."""

    value: float
    n_samples: int
    n_reference: int
    feature_dim: int
    network: str = "LeNet"

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        return (f"FID {self.value:.2f} ({self.n_samples:,} samples vs {self.n_reference:,} reference, "
                f"{self.feature_dim}-D {self.network} features)")


def fid(samples, reference, net=None, batch_size: int = 500, device=None, verbose: bool = True) -> FIDResult:
    """FID between two image sets (N, 1, 28, 28) or (N, 784) in [0, 1], on FeatureNet features.

    Report it with the sample sizes: FID is biased upwards at small N, so only compare equal sizes.
    Features are computed on ``device``, else where ``net`` is, else on ``course_lib.device()``; a given
    ``net`` is moved to a given ``device``.
    """
    if net is None:
        net = load_feature_net(device)
    f1 = _network_outputs(samples, net, "features", batch_size, device, "fid(): samples")
    f2 = _network_outputs(reference, net, "features", batch_size, device, "fid(): reference")
    name = "LeNet" if isinstance(net, FeatureNet) else type(net).__name__
    (mu1, s1), (mu2, s2) = gaussian_stats(f1), gaussian_stats(f2)
    result = FIDResult(_frechet_sqrtm(mu1, s1, mu2, s2), len(f1), len(f2), f1.shape[1], name)
    if verbose:
        print(result)
    return result


# ---------------------------------------------------------------- precision and recall

@dataclass
class PRResult:
    """Precision and recall of a sample set against a reference set, with the sizes and k they depend on.

    Unpacks as ``precision, recall = result``."""

    precision: float
    recall: float
    k: int
    n_samples: int
    n_reference: int
    feature_dim: int
    network: str = "LeNet"

    def __iter__(self):
        return iter((self.precision, self.recall))

    def __str__(self) -> str:
        return (f"precision {self.precision:.3f}, recall {self.recall:.3f} (k={self.k}; {self.n_samples:,} samples vs "
                f"{self.n_reference:,} reference, {self.feature_dim}-D {self.network} features)")


def _sq_dists(a: torch.Tensor, b: torch.Tensor):
    """Squared distances (n, m) by one matrix product, and a bound (n, 1) on their round-off error."""
    a2, b2 = a.pow(2).sum(1, keepdim=True), b.pow(2).sum(1)
    bound = 1e-12 * (a2 + b2.max()) + 1e-300   # float64 round-off of |a|² + |b|² - 2 a.b is far below this
    return (a @ b.T).mul_(-2.0).add_(a2).add_(b2).clamp_min_(0.0), bound


def knn_radii(feats, k: int = 3, batch_size: int = 1024) -> torch.Tensor:
    """Distance of every row of feats (N, d) to its k-th nearest *other* row: (N,) float64.

    The row itself is left out by its index (not by its distance), so a duplicate of a row counts as a neighbour
    at distance 0. These radii define Kynkäänniemi et al.'s estimate of the set's support: the union of the balls
    B(x_i, radius_i). Candidates come from one matrix product per batch; the distances returned are recomputed
    from differences, so they are exact to round-off (and exactly 0 between identical rows)."""
    f = torch.as_tensor(_as_2d_float64(feats, "knn_radii"))
    n = len(f)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(f"knn_radii: k must be an integer with 1 <= k < N (the k-th nearest neighbour among the other "
                         f"N - 1 points); got k={k!r} for N={n}")
    k, spare = int(k), min(int(k) + 8, n - 1)   # a few spare candidates absorb round-off in the ranking
    radii = torch.empty(n, dtype=torch.float64)
    for i in range(0, n, batch_size):
        rows = f[i:i + batch_size]
        d2, _ = _sq_dists(rows, f)
        own = torch.arange(i, i + len(rows))
        d2[own - i, own] = float("inf")                      # leave each point out of its own neighbours
        cand = d2.topk(spare, dim=1, largest=False).indices
        exact = (rows.unsqueeze(1) - f[cand]).pow(2).sum(-1).sqrt()
        radii[own] = exact.kthvalue(k, dim=1).values
    return radii


def _inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(Nq,) bool: whether each query lies in at least one ball B(centre_j, radius_j), boundary included.

    Pairs whose matrix-product distance is too close to the radius to decide are recomputed from differences."""
    out = torch.empty(len(queries), dtype=torch.bool)
    r2 = radii.pow(2)
    for i in range(0, len(queries), batch_size):
        q = queries[i:i + batch_size]
        d2, bound = _sq_dists(q, centres)
        hit = d2 < r2 - bound
        unsure = (d2.sub_(r2).abs_() <= bound).nonzero()
        for j in range(0, len(unsure), 65536):
            qi, cj = unsure[j:j + 65536].unbind(1)
            hit[qi, cj] = (q[qi] - centres[cj]).pow(2).sum(1).sqrt() <= radii[cj]
        out[i:i + len(q)] = hit.any(1)
    return out


def precision_recall_from_features(sample_features, reference_features, k: int = 3,
                                   batch_size: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) of two feature sets (N, d) and (M, d).

    Each set's support is estimated as the union of balls around its points, each ball's radius the distance
    from its point to the point's k-th nearest neighbour in the same set (the point itself left out).
    precision = the fraction of samples inside the reference's support (are the samples realistic?);
    recall = the fraction of reference points inside the samples' support (is the real data covered?).
    Both lie in [0, 1]; they depend on k and on both set sizes, so compare them at equal sizes and k. Read them
    as a pair: a few outliers of the reference set have large balls, and these can hold samples that look like
    nothing (Naeem et al., 2020), so precision alone can be high for noise; its recall is then near 0.
    """
    fs = torch.as_tensor(_as_2d_float64(sample_features, "precision_recall: samples"))
    fr = torch.as_tensor(_as_2d_float64(reference_features, "precision_recall: reference"))
    if fs.shape[1] != fr.shape[1]:
        raise ValueError(f"precision_recall: samples and reference need features of the same dimension; got "
                         f"{tuple(fs.shape)} and {tuple(fr.shape)}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"precision_recall: k must be a positive integer, got {k!r}")
    if k >= min(len(fs), len(fr)):
        raise ValueError(f"precision_recall: k must be smaller than both set sizes (the k-th nearest neighbour among "
                         f"the other points of a set); got k={k} with {len(fs)} samples and {len(fr)} reference "
                         "points")
    precision = _inside(fs, fr, knn_radii(fr, k, batch_size), batch_size).double().mean().item()
    recall = _inside(fr, fs, knn_radii(fs, k, batch_size), batch_size).double().mean().item()
    return precision, recall


def precision_recall(samples, reference, k: int = 3, net=None, batch_size: int = 500, device=None,
                     verbose: bool = True) -> PRResult:
    """Precision and recall (Kynkäänniemi et al., 2019) of images against reference images, on FeatureNet features.

    samples, reference: images (N, 1, 28, 28) or (N, 784) in [0, 1], as for ``fid``; both sets go through
    ``net`` (default: the shipped FeatureNet). For features you have already computed, call
    ``precision_recall_from_features``. k = 3 is the paper's choice. Report the result with k and the sizes:
    a larger k or more points give larger balls or denser sets, and so other values.
    """
    if net is None:
        net = load_feature_net(device)
    fs = _network_outputs(samples, net, "features", batch_size, device, "precision_recall(): samples")
    fr = _network_outputs(reference, net, "features", batch_size, device, "precision_recall(): reference")
    precision, recall = precision_recall_from_features(fs, fr, k)
    name = "LeNet" if isinstance(net, FeatureNet) else type(net).__name__
    result = PRResult(precision, recall, int(k), len(fs), len(fr), fs.shape[1], name)
    if verbose:
        print(result)
    return result


# ---------------------------------------------------------------- optional: Inception v3 from a local file

INCEPTION_ENV = "COURSE_INCEPTION_WEIGHTS"


def load_inception(weights_path=None, device=None, transform_input: bool = True) -> nn.Module:
    """torchvision's Inception v3 with weights from a local state-dict file; nothing is downloaded.

    weights_path: the file, or the environment variable ``COURSE_INCEPTION_WEIGHTS``. ``transform_input``
    stays True for torchvision's own ImageNet weights (torchvision sets it when it loads them): the model then
    expects ImageNet-normalised 3x299x299 input. Set ``model.fc = nn.Identity()`` for the 2048-D pool features.
    These are not the TensorFlow weights of published FIDs, so the values are not comparable with papers.
    """
    weights_path = weights_path or os.environ.get(INCEPTION_ENV, "").strip()
    if not weights_path:
        raise FileNotFoundError(f"load_inception: expected a path to Inception v3 weights (a state-dict file), as "
                                f"an argument or in {INCEPTION_ENV}; got neither. The course never downloads them: "
                                "copy the file to this machine first, or use fid(), which needs no download.")
    path = Path(weights_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"load_inception: expected Inception v3 weights at {path}, but there is no such "
                                f"file. Check the path (or {INCEPTION_ENV}); nothing is downloaded.")
    from torchvision.models import inception_v3

    model = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=transform_input)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(device if device is not None else default_device()).eval()
