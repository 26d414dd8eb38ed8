"""Wasserstein GANs and their relatives: the reference versions of what assignment ``a4_wasserstein`` grades,
and nothing else. The assignment's tests switch this module off.

Conventions, as in ``course_lib.gan``: a critic (or discriminator) returns one number per example, shape (N,),
with no sigmoid; the loss functions have the signatures ``course_lib.train.train_gan`` expects,
``d_loss(D, G, x, z)`` and ``g_loss(D, G, z)``.

    parallel lines  P_0 = (0, Z), P_theta = (theta, Z), Z ~ U[0, 1]   (Arjovsky et al. 2017, example 1)
        TV = 1, KL = KL reverse = +inf, JS = log 2, W1 = |theta|      for theta != 0; all 0 at theta = 0
    WGAN            critic:    E f(G(z)) - E f(x)        generator:  -E f(G(z))      (+ weights clipped to [-c, c])
    WGAN-GP         penalty    E (||grad f(x_hat)||_2 - 1)^2,  x_hat = eps x + (1 - eps) G(z),  eps ~ U[0, 1]
    spectral norm   v = W^T u / ||W^T u||,  u = W v / ||W v||,  sigma = u^T W v       (one power-iteration step)
    LSGAN           D: 1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2      G: 1/2 E (D(G(z)) - c)^2
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- distances

def parallel_lines(theta) -> dict:
    """The four distances between P_0 and P_theta (two vertical unit segments at horizontal distance |theta|).

    Returns Python floats: {"tv", "kl", "kl_reverse", "js", "w1"}. For theta != 0 the supports are disjoint:
    TV = 1, both KLs are +inf (math.inf: P_theta puts mass where P_0 has none), JS = log 2, W1 = |theta|.
    At theta = 0 the distributions are equal and every distance is 0.
    """
    t = float(theta)
    if not math.isfinite(t):
        raise ValueError(f"parallel_lines: theta must be a finite number, got {theta!r}")
    if t == 0.0:
        return {"tv": 0.0, "kl": 0.0, "kl_reverse": 0.0, "js": 0.0, "w1": 0.0}
    return {"tv": 1.0, "kl": math.inf, "kl_reverse": math.inf, "js": math.log(2.0), "w1": abs(t)}


def w1_1d(x, y) -> torch.Tensor:
    """Empirical Wasserstein-1 distance between two 1-D samples (any sizes): the area between their empirical
    CDFs, integral |F_x(t) - F_y(t)| dt, computed exactly on the merged, sorted sample points. float64.

    For equal sizes this is mean |sort(x) - sort(y)|, the cost of matching the i-th smallest to the i-th smallest.
    """
    x = torch.as_tensor(x, dtype=torch.float64).reshape(-1)
    y = torch.as_tensor(y, dtype=torch.float64).reshape(-1)
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"w1_1d: both samples need at least one point, got {len(x)} and {len(y)}")
    xs, ys = torch.sort(x).values, torch.sort(y).values
    ts = torch.sort(torch.cat([xs, ys])).values
    widths = ts[1:] - ts[:-1]
    left = ts[:-1]                                           # the CDFs are constant on [t_i, t_{i+1})
    fx = torch.searchsorted(xs, left, right=True).double() / len(xs)
    fy = torch.searchsorted(ys, left, right=True).double() / len(ys)
    return ((fx - fy).abs() * widths).sum()


# ---------------------------------------------------------------- WGAN

def critic_loss(critic, G, x, z):
    """E f(G(z)) - E f(x): minus the critic's estimate of W1, for the critic to minimise. G(z) is detached."""
    return critic(G(z).detach()).mean() - critic(x).mean()


def generator_loss(critic, G, z):
    """-E f(G(z)): the generator moves its samples up the critic."""
    return -critic(G(z)).mean()


@torch.no_grad()
def clip_weights_(critic, c: float = 0.01) -> None:
    """Clamp every parameter of the critic to [-c, c], in place (WGAN's crude Lipschitz constraint)."""
    for p in critic.parameters():
        p.clamp_(-c, c)


def gradient_penalty(critic, real, fake, eps):
    """E (||grad_x f(x_hat)||_2 - 1)^2 at x_hat = eps * real + (1 - eps) * fake, one eps per example (shape (N,)).

    The norm is taken per example over all of its coordinates. The gradient is built with ``create_graph=True``,
    so the penalty itself can be differentiated (by the critic's parameters, and by ``fake`` if it is not
    detached).
    """
    eps = eps.reshape(-1, *([1] * (real.dim() - 1))).to(real)
    x_hat = eps * real + (1 - eps) * fake
    if not x_hat.requires_grad:
        x_hat.requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.reshape(len(grad), -1).norm(dim=1)
    return ((norms - 1) ** 2).mean()


def critic_loss_gp(critic, G, x, z, lam: float = 10.0):
    """WGAN-GP's critic loss: E f(G(z)) - E f(x) + lam * gradient penalty, eps ~ U[0, 1] per example."""
    fake = G(z).detach()
    eps = torch.rand(len(x), device=x.device)
    return critic(fake).mean() - critic(x).mean() + lam * gradient_penalty(critic, x, fake, eps)


# ---------------------------------------------------------------- spectral normalisation

def power_iteration_step(W, u):
    """One step of power iteration for the largest singular value of W (a weight of any shape, viewed as
    (W.shape[0], -1)), from the left vector u: returns (sigma, u_new, v_new) with

        v = W^T u / ||W^T u||,   u_new = W v / ||W v||,   sigma = u_new^T W v.

    No gradient flows into u or v (as in torch's spectral_norm); sigma is differentiable in W.
    """
    W2 = W.reshape(W.shape[0], -1)
    with torch.no_grad():
        v = F.normalize(W2.t() @ u, dim=0, eps=1e-12)
        u_new = F.normalize(W2 @ v, dim=0, eps=1e-12)
    return u_new @ W2 @ v, u_new, v


# ---------------------------------------------------------------- LSGAN

def discriminator_loss_lsgan(D, G, x, z, a: float = 0.0, b: float = 1.0):
    """1/2 E (D(x) - b)^2 + 1/2 E (D(G(z)) - a)^2, with G(z) detached (Mao et al. 2017, eq. 2)."""
    return 0.5 * ((D(x) - b) ** 2).mean() + 0.5 * ((D(G(z).detach()) - a) ** 2).mean()


def generator_loss_lsgan(D, G, z, c: float = 1.0):
    """1/2 E (D(G(z)) - c)^2."""
    return 0.5 * ((D(G(z)) - c) ** 2).mean()
