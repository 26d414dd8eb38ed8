import math

import pytest
import torch

from course_lib import models, vae


def test_kl_closed_forms():
    # KL(N(2, 1) || N(0, 1)) = 2 ;  KL(N(0, e^2) || N(0, 1)) = (e^2 - 3) / 2
    kl = vae.gaussian_kl(torch.tensor([[2.0], [0.0]]), torch.tensor([[0.0], [2.0]]))
    assert torch.allclose(kl, torch.tensor([2.0, (math.e ** 2 - 3) / 2]))


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    ref = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(vae.gaussian_kl(mu, logvar), ref, atol=1e-5)


def test_bernoulli_nll_zero_logits_and_stability():
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.5))
    assert torch.allclose(vae.bernoulli_nll(x, torch.zeros_like(x)), torch.full((3,), 784 * math.log(2)))
    big = vae.bernoulli_nll(torch.ones(1, 4), torch.full((1, 4), -200.0))
    assert torch.isfinite(big).all() and torch.allclose(big, torch.tensor([800.0]))


def test_gaussian_nll_matches_distribution():
    torch.manual_seed(1)
    x, m, lv = torch.randn(4, 5), torch.randn(4, 5), torch.randn(4, 5)
    ref = -torch.distributions.Normal(m, (0.5 * lv).exp()).log_prob(x).sum(1)
    assert torch.allclose(vae.gaussian_nll(x, m, lv), ref, atol=1e-5)
    assert torch.allclose(vae.gaussian_nll(x, x, 0.0), torch.full((4,), 0.5 * 5 * math.log(2 * math.pi)))


def _linear_gaussian():
    """p(z) = N(0, 1), p(x|z) = N(z, 1): p(x) = N(0, 2) and the exact posterior is N(x/2, 1/2)."""
    enc = lambda x: (x / 2, torch.full_like(x, math.log(0.5)))  # noqa: E731
    dec = lambda z: z  # noqa: E731
    nll = lambda x, mean: vae.gaussian_nll(x, mean, 0.0)  # noqa: E731
    return enc, dec, nll


def test_elbo_and_iwae_are_exact_with_the_true_posterior():
    enc, dec, nll = _linear_gaussian()
    x = torch.linspace(-2, 2, 9).unsqueeze(1)
    log_px = torch.distributions.Normal(0.0, math.sqrt(2)).log_prob(x).squeeze(1)
    # IWAE uses log p(x, z) - log q(z|x), which equals log p(x) for every z: exact for any k.
    for k in (1, 5, 50):
        assert torch.allclose(vae.iwae_bound(x, enc, dec, k, nll), -log_px.mean(), atol=1e-4)
    # The ELBO with an analytic KL is exact only in expectation: average many single-sample draws.
    torch.manual_seed(0)
    nelbo, rec, kl = vae.negative_elbo(x.repeat(20000, 1), enc, dec, nll)
    assert abs(nelbo.item() + log_px.mean().item()) < 0.02 and torch.allclose(rec + kl, nelbo)


def test_iwae_tightens_with_k_for_a_poor_encoder():
    torch.manual_seed(0)
    _, dec, nll = _linear_gaussian()
    enc = lambda x: (torch.zeros_like(x), torch.zeros_like(x))  # q = prior  # noqa: E731
    x = torch.linspace(-2, 2, 200).unsqueeze(1)
    log_px = torch.distributions.Normal(0.0, math.sqrt(2)).log_prob(x).mean()
    bounds = [vae.iwae_bound(x, enc, dec, k, nll).item() for k in (1, 10, 1000)]
    assert bounds[0] > bounds[1] > bounds[2] > -log_px.item() - 0.01


def test_vae_model_forward_sample_and_evaluate():
    torch.manual_seed(0)
    model = models.VAE(z_dim=4, kind="mlp", hidden=(32,))
    x = torch.bernoulli(torch.rand(20, 1, 28, 28))
    logits, mu, logvar = model(x)
    assert logits.shape == (20, 1, 28, 28) and mu.shape == logvar.shape == (20, 4)
    a, b = models.evaluate_nelbo(model, x, seed=1), models.evaluate_nelbo(model, x, seed=1)
    assert a == b and 400 < a < 800  # near 784 log 2 = 543 for an untrained decoder
    state = torch.random.get_rng_state()
    models.evaluate_nelbo(model, x)
    assert torch.equal(state, torch.random.get_rng_state()), "evaluation must not disturb the global RNG"
    # the evaluator (torch.distributions) agrees with the reference losses averaged over the same noise
    gen = torch.Generator().manual_seed(0)
    mu, logvar = model.encoder(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
    ref = (vae.bernoulli_nll(x, model.decoder(z)) + vae.gaussian_kl(mu, logvar)).mean().item()
    assert models.evaluate_nelbo(model, x, seed=0, repeats=1) == pytest.approx(ref, rel=1e-5)
    with pytest.raises(ValueError, match="empty"):
        models.evaluate_nelbo(model, x[:0])


def test_vae_module_holds_only_reference_answers():
    graded = {"reparameterize", "gaussian_kl", "bernoulli_nll", "gaussian_nll", "negative_elbo", "iwae_bound"}
    public = {n for n, v in vars(vae).items() if callable(v) and not n.startswith("_")
              and getattr(v, "__module__", "") == vae.__name__}
    assert public == graded, f"course_lib.vae should hold only a1's reference answers; it has {sorted(public)}"
