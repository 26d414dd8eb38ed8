"""course_lib.translation (assignment 6's reference answers): cGAN inputs, the U-Net's skips, PatchGAN geometry,
the pix2pix and CycleGAN generator losses, and the image pool."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import translation as T

PATCHGAN_70 = [(4, 2, 1)] * 3 + [(4, 1, 1)] * 2


def test_cgan_inputs():
    z = torch.randn(3, 4, dtype=torch.float64)
    out = T.cgan_generator_input(z, torch.tensor([2, 0, 1]), 3)
    assert out.dtype == torch.float64 and out.shape == (3, 7)
    assert torch.equal(out[:, :4], z) and torch.equal(out[:, 4:], torch.eye(3, dtype=torch.float64)[[2, 0, 1]])
    x = torch.rand(2, 3, 5, 4)
    d = T.cgan_discriminator_input(x, torch.tensor([1, 3]), 4)
    assert d.shape == (2, 7, 5, 4) and torch.equal(d[:, :3], x)
    assert torch.equal(d[0, 3:], torch.tensor([0.0, 1.0, 0.0, 0.0])[:, None, None].expand(4, 5, 4))
    assert torch.equal(d[1, 3:], torch.tensor([0.0, 0.0, 0.0, 1.0])[:, None, None].expand(4, 5, 4))
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match="labels must lie in 0..2"):
            T.cgan_generator_input(torch.zeros(2, 1), torch.tensor(bad), 3)
        with pytest.raises(ValueError, match="labels must lie in 0..2"):
            T.cgan_discriminator_input(torch.zeros(2, 1, 2, 2), torch.tensor(bad), 3)


@pytest.mark.parametrize("size,depth", [(28, 2), (28, 3), (32, 2), (32, 3)])
def test_skip_unet_shapes_and_skips(size, depth):
    torch.manual_seed(0)
    net = T.SkipUNet(in_channels=3, out_channels=2, width=4, depth=depth)
    enc, dec = [], []
    hooks = [net.stem.register_forward_hook(lambda m, i, o: enc.append(F.relu(o)))]
    hooks += [c.register_forward_hook(lambda m, i, o: enc.append(F.relu(o))) for c in net.down]
    hooks += [c.register_forward_pre_hook(lambda m, i: dec.append(i[0])) for c in net.up]
    out = net(torch.rand(2, 3, size, size))
    assert out.shape == (2, 2, size, size)
    for j, inp in enumerate(dec):
        skip = enc[depth - 1 - j]
        assert torch.equal(inp[:, -skip.shape[1]:], skip)
    for h in hooks:
        h.remove()


def test_patchgan_geometry():
    assert T.receptive_field(PATCHGAN_70) == 70
    assert T.receptive_field([(3, 1, 1)]) == 3 and T.receptive_field([(3, 1, 1)] * 2) == 5
    assert T.receptive_field([(2, 2, 0), (3, 1, 0)]) == 6
    assert T.patchgan_output_size(256, PATCHGAN_70) == 30
    assert T.patchgan_output_size(28, [(4, 2, 1), (4, 2, 1), (4, 1, 1)]) == 6
    for size in (28, 31, 64):   # against real convolutions
        x = torch.zeros(1, 1, size, size)
        for k, s, p in PATCHGAN_70[:4]:
            x = nn.Conv2d(1, 1, k, s, p)(x)
        assert T.patchgan_output_size(size, PATCHGAN_70[:4]) == x.shape[-1]
    with pytest.raises(ValueError, match="layer 3"):
        T.patchgan_output_size(8, [(4, 2, 1)] * 3 + [(4, 1, 0)] * 3)


def test_pix2pix_generator_loss():
    x, y = torch.rand(2, 1, 3, 3), torch.rand(2, 1, 3, 3)
    w = torch.tensor(2.0, requires_grad=True)
    loss = T.pix2pix_generator_loss(lambda inp, out: inp - 3 * out, lambda t: w * t, x, y, lam=7.0)
    fake = 2 * x
    want = F.softplus(-(x - 3 * fake)).mean() + 7.0 * (fake - y).abs().mean()
    assert torch.allclose(loss, want)
    loss.backward()
    assert w.grad is not None and w.grad != 0


def test_cyclegan_generator_loss():
    a, b = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    g_ab, g_ba = (lambda t: 2 * t + 1), (lambda t: 0.5 * t - 1)
    d_a, d_b = (lambda t: 3 * t.mean(1, keepdim=True)), (lambda t: -t[:, :1])
    got = T.cyclegan_generator_loss(g_ab, g_ba, d_a, d_b, a, b, lam_cycle=3.0, lam_identity=0.2)
    adv = ((d_b(g_ab(a)) - 1) ** 2).mean() + ((d_a(g_ba(b)) - 1) ** 2).mean()
    cyc = (g_ba(g_ab(a)) - a).abs().mean() + (g_ab(g_ba(b)) - b).abs().mean()
    idt = (g_ab(b) - b).abs().mean() + (g_ba(a) - a).abs().mean()
    assert torch.allclose(got, adv + 3.0 * cyc + 0.6 * idt)


def test_image_pool_replays_its_specification():
    pool = T.ImagePool(size=3, generator=torch.Generator().manual_seed(5))
    mirror = torch.Generator().manual_seed(5)
    stored, seen = [], 0
    for _ in range(6):
        batch = torch.arange(seen, seen + 4, dtype=torch.float32).reshape(4, 1).requires_grad_(True)
        out = pool.query(batch * 1)
        assert out.shape == batch.shape and not out.requires_grad
        for j in range(4):
            value = float(seen + j)
            if len(stored) < 3:
                stored.append(value)
                want = value
            elif torch.rand(1, generator=mirror).item() > 0.5:
                i = torch.randint(0, 3, (1,), generator=mirror).item()
                want, stored[i] = stored[i], value
            else:
                want = value
            assert out[j].item() == want
        seen += 4
        assert len(pool.images) <= 3
    same = torch.rand(2, 3)
    assert torch.equal(T.ImagePool(size=0).query(same), same)
