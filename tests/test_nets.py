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
