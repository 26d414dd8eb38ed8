import pytest
import torch

from course_lib import nets


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_encoder_decoder_shapes(kind):
    x = torch.rand(5, 1, 28, 28)
    enc, dec = nets.gaussian_encoder(8, kind), nets.decoder(8, kind)
    mu, logvar = enc(x)
    assert mu.shape == (5, 8) and logvar.shape == (5, 8)
    assert dec(mu).shape == (5, 1, 28, 28)
    mu_flat, _ = enc(x.view(5, 784))  # flat input accepted too
    assert torch.allclose(mu, mu_flat)


def test_bad_input_shape_message():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\) or \(N, 784\); got \(5, 3, 32, 32\)"):
        nets.MLPEncoder(4)(torch.rand(5, 3, 32, 32))


def test_bad_kind():
    with pytest.raises(ValueError, match="'mlp' or 'conv'"):
        nets.decoder(4, "resnet")


def test_parameter_fingerprints():
    # 784-400-(2*20) encoder and 20-400-784 decoder: the pytorch/examples VAE sizes
    assert nets.count_parameters(nets.gaussian_encoder(20, "mlp")) == 784 * 400 + 400 + 400 * 40 + 40
    assert nets.count_parameters(nets.decoder(20, "mlp")) == 20 * 400 + 400 + 400 * 784 + 784
    assert nets.count_parameters(nets.gaussian_encoder(16, "conv")) == 418_384
    assert nets.count_parameters(nets.decoder(16, "conv")) == 415_793


def test_gaussian_head_checks_width():
    head = nets.GaussianHead(torch.nn.Linear(784, 5), 4)
    with pytest.raises(ValueError, match="expected 2 \\* z_dim = 8"):
        head(torch.rand(2, 784))


def test_one_image_check_for_every_shape():
    x = torch.rand(3, 1, 28, 28)
    for v in (x, x.view(3, 784), x.view(3, 28, 28)):
        assert nets.as_images(v, "t").shape == (3, 1, 28, 28)
    assert nets.as_images(torch.rand(2, 3 * 32 * 32), "t", shape=(3, 32, 32)).shape == (2, 3, 32, 32)
    assert nets.as_images(torch.rand(2, 3, 8, 8), "t", shape=None).shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="square"):
        nets.as_images(torch.rand(2, 10), "t", shape=None)
    with pytest.raises(ValueError, match=r"who expects images of shape \(N, 1, 28, 28\)"):
        nets.as_images(torch.rand(2, 10), "who")


def test_mlp_builder():
    m = nets.mlp([3, 5, 5, 2])
    assert [type(l).__name__ for l in m] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    with pytest.raises(ValueError, match="at least an input and an output"):
        nets.mlp([3])


def _models():
    from course_lib import VAE
    return [nets.MLPGenerator(z_dim=2), nets.ConvGenerator(z_dim=8, width=4), VAE(z_dim=3, kind="mlp", hidden=(8,))]


@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_sampling_contract(model):
    """Every model samples with sample(n, generator): seeded, on the model's device, global RNG untouched."""
    from course_lib import device, rng

    model = model.to(device())
    state = torch.random.get_rng_state()
    a, b = model.sample(5, rng(1)), model.sample(5, generator=rng(1))
    assert torch.equal(state, torch.random.get_rng_state()), "sampling with a generator must not touch the global RNG"
    assert torch.equal(a, b) and len(a) == 5 and a.device.type == device().type and not a.requires_grad
    assert not torch.equal(a, model.sample(5, rng(2)))
    was = model.training
    model.sample(3)
    assert model.training == was, "sample() must not change the train/eval mode"
    with pytest.raises(ValueError, match="positive number of samples"):
        model.sample(0)


def test_ensemble_members_are_independent_models():
    """Member m of an ensemble computes what an MLP with member m's weights computes, and its gradients depend
    only on its own rows: training the ensemble is training each member on its own."""
    torch.manual_seed(0)
    G, D = nets.MLPGeneratorEnsemble(3, hidden=16), nets.MLPDiscriminatorEnsemble(3, hidden=16)
    z = torch.randn(3 * 5, 2)
    out = G(z)
    assert out.shape == (15, 2) and D(out).shape == (15,)
    single = nets.MLPGenerator(hidden=16)
    linears = [m for m in single.net if isinstance(m, torch.nn.Linear)]
    batched = [m for m in G.net if isinstance(m, nets.BatchedLinear)]
    with torch.no_grad():
        for lin, bl in zip(linears, batched):
            lin.weight.copy_(bl.weight[1].T)
            lin.bias.copy_(bl.bias[1, 0])
    assert torch.allclose(G.per_member(out)[1], single(z[5:10]), atol=1e-6)
    D(G(z))[:5].sum().backward()       # a loss on member 0's rows only
    assert all(float(p.grad[1:].abs().sum()) == 0 for p in G.parameters())
    assert all(float(p.grad[0].abs().sum()) > 0 for p in G.parameters())


def test_ensemble_rejects_rows_that_do_not_split():
    with pytest.raises(ValueError, match=r"members \* N"):
        nets.MLPGeneratorEnsemble(4)(torch.randn(10, 2))


def test_ensemble_samples_stay_with_their_member():
    """Sampling more rows than one chunk must not reassign rows between members."""
    torch.manual_seed(0)
    G = nets.MLPGeneratorEnsemble(4, hidden=8)
    with torch.no_grad():
        for m in range(4):   # member m outputs the constant m (zero weights in its last layer)
            G.net[-1].weight[m].zero_()
            G.net[-1].bias[m].fill_(float(m))
    x = G.per_member(G.sample(4 * 700, torch.Generator().manual_seed(0)))
    assert all(torch.equal(x[m], torch.full_like(x[m], float(m))) for m in range(4))
    with pytest.raises(ValueError, match="multiple of members"):
        G.sample(10)
