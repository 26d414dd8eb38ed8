"""course_lib.lapgan (assignment 7's reference answers): the Laplacian pyramid, the level inputs and coarse-to-fine
sampling; and the LAPGAN networks of course_lib.nets."""
import pytest
import torch
import torch.nn.functional as F

from course_lib import lapgan as L
from course_lib import nets


def _binomial_down(x):
    b = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16
    c = x.shape[1]
    xp = F.pad(x.double(), (2, 2, 2, 2), mode="reflect")
    return F.conv2d(xp, torch.outer(b, b).expand(c, 1, 5, 5), groups=c)[..., ::2, ::2]


@pytest.mark.parametrize("shape,dtype", [((2, 1, 8, 8), torch.float32), ((3, 3, 6, 10), torch.float64),
                                         ((1, 2, 4, 4), torch.float32)])
def test_downsample_matches_the_definition(shape, dtype):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    out = L.downsample(x)
    assert out.dtype == dtype and out.shape == (*shape[:2], shape[2] // 2, shape[3] // 2)
    torch.testing.assert_close(out.double(), _binomial_down(x), rtol=1e-5, atol=1e-6)


def test_downsample_keeps_constants_and_channels_apart():
    x = torch.tensor([0.2, 0.9]).reshape(1, 2, 1, 1).expand(3, 2, 8, 6).contiguous()
    torch.testing.assert_close(L.downsample(x), x[..., ::2, ::2])
    y = x.clone()
    y[:, 1] = torch.rand(3, 8, 6)
    assert torch.equal(L.downsample(x)[:, 0], L.downsample(y)[:, 0])


def test_resampling_follows_the_device():
    m = torch.zeros(2, 3, 8, 8, device="meta")
    assert L.downsample(m).device.type == "meta" and L.downsample(m).shape == (2, 3, 4, 4)
    assert L.upsample(m).device.type == "meta" and L.upsample(m).shape == (2, 3, 16, 16)


@pytest.mark.parametrize("shape", [(1, 1, 5, 6), (1, 1, 2, 2), (2, 3, 6, 3), (1, 1, 8, 2)])
def test_downsample_rejects_sizes_it_cannot_halve(shape):
    with pytest.raises(ValueError, match=r"downsample: expected H and W even and at least 4"):
        L.downsample(torch.zeros(*shape))


def test_upsample_is_bilinear():
    x = torch.rand(2, 3, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(L.upsample(x), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


@pytest.mark.parametrize("b,c", [(1, 1), (5, 1), (1, 3), (5, 3)])
def test_pyramid_is_exactly_invertible(b, c):
    x = torch.rand(b, c, 32, 16, dtype=torch.float64)
    pyr = L.laplacian_pyramid(x, 3)
    assert [p.shape[-2:] for p in pyr] == [(32, 16), (16, 8), (8, 4)]
    torch.testing.assert_close(L.reconstruct(pyr), x, rtol=0, atol=1e-12)
    x32 = x.float()
    assert (L.reconstruct(L.laplacian_pyramid(x32, 4)) - x32).abs().max() < 1e-6


def test_pyramid_levels_are_the_definition():
    x = torch.rand(2, 2, 16, 16, dtype=torch.float64)
    gauss = [x, _binomial_down(x)]
    gauss.append(_binomial_down(gauss[1]))
    pyr = L.laplacian_pyramid(x, 3)
    up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
    torch.testing.assert_close(pyr[0], gauss[0] - up(gauss[1]))
    torch.testing.assert_close(pyr[1], gauss[1] - up(gauss[2]))
    torch.testing.assert_close(pyr[2], gauss[2])
    one = L.laplacian_pyramid(x, 1)
    assert len(one) == 1 and one[0] is x


@pytest.mark.parametrize("shape,levels", [((1, 1, 16, 16), 0), ((1, 1, 12, 12), 4), ((2, 3, 16, 20), 4),
                                          ((1, 1, 8, 8), 4), ((1, 1, 16, 16), 2.0)])
def test_pyramid_rejects(shape, levels):
    with pytest.raises(ValueError, match="laplacian_pyramid"):
        L.laplacian_pyramid(torch.zeros(*shape), levels)


def test_reconstruct_of_any_pyramid():
    pyr = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 4, 4)]
    torch.testing.assert_close(L.reconstruct(pyr), L.upsample(pyr[1]) + pyr[0])
    assert L.reconstruct(pyr[1:]) is pyr[1]
    with pytest.raises(ValueError, match="empty"):
        L.reconstruct([])


def test_level_inputs():
    l, z, h = torch.rand(2, 3, 4, 6), torch.randn(2, 1, 4, 6), torch.randn(2, 3, 4, 6, requires_grad=True)
    g = L.generator_input(l, z)
    assert g.shape == (2, 4, 4, 6) and torch.equal(g[:, :3], l) and torch.equal(g[:, 3:], z)
    d = L.discriminator_input(h, l)
    assert d.shape == (2, 6, 4, 6) and torch.equal(d[:, 3:], l)
    torch.testing.assert_close(d[:, :3], l + h)
    d[:, :3].sum().backward()
    assert torch.equal(h.grad, torch.ones_like(h))
    for bad in (torch.randn(2, 2, 4, 6), torch.randn(3, 1, 4, 6), torch.randn(2, 1, 4, 4)):
        with pytest.raises(ValueError, match="generator_input"):
            L.generator_input(l, bad)
    with pytest.raises(ValueError, match="discriminator_input"):
        L.discriminator_input(torch.randn(2, 1, 4, 6), l)


class _Coarse:
    def __init__(self, device="cpu"):
        self.device = device

    def sample(self, n, generator=None):
        return torch.rand(n, 1, 4, 4, generator=generator).to(self.device)


class _Spy(torch.nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value, self.seen = value, []
        self.w = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        self.seen.append(x)
        return self.w * (x[:, :1] * x[:, 1:] * 0 + self.value)


def test_sample_coarse_to_fine_replays_its_draws():
    spies = [_Spy(0.1), _Spy(-0.2)]
    out = L.sample_coarse_to_fine(_Coarse(), spies, 3, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    image = torch.rand(3, 1, 4, 4, generator=g)
    assert [o.shape[-1] for o in out] == [4, 8, 16] and torch.equal(out[0], image)
    for k, spy in enumerate(spies):
        l = L.upsample(image)
        z = torch.randn(3, 1, *l.shape[-2:], generator=g)
        assert torch.equal(spy.seen[0], torch.cat([l, z], dim=1))
        image = l + spy.value
        torch.testing.assert_close(out[k + 1], image)
    assert not any(o.requires_grad for o in out)
    assert len(L.sample_coarse_to_fine(_Coarse(), [], 2)) == 1


def test_sample_coarse_to_fine_moves_noise_to_the_device():
    spy = _Spy(0.0)
    out = L.sample_coarse_to_fine(_Coarse("meta"), [spy], 2, generator=torch.Generator().manual_seed(0))
    assert out[-1].device.type == "meta" and spy.seen[0].device.type == "meta"


def test_sample_coarse_to_fine_agrees_with_nets_lapgan():
    torch.manual_seed(0)
    model = nets.LAPGAN(size=16, levels=3, width=8, hidden=32)
    mine = L.sample_coarse_to_fine(model.coarse, model.generators, 4, generator=torch.Generator().manual_seed(3))
    theirs = model.sample(4, generator=torch.Generator().manual_seed(3), levels=True)
    assert len(mine) == len(theirs) == 3
    for a, b in zip(mine[:-1], theirs[:-1]):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(mine[-1].clamp(0, 1), theirs[-1])


# ---------------------------------------------------------------- the LAPGAN networks of course_lib.nets

def test_lapgan_nets_shapes():
    G = nets.CoarseGenerator(size=8, channels=1, z_dim=32, hidden=16)
    assert G(torch.randn(5, 32)).shape == (5, 1, 8, 8)
    assert nets.CoarseDiscriminator(size=8, hidden=16)(torch.rand(5, 1, 8, 8)).shape == (5,)
    level = nets.LevelGenerator(channels=3, width=8)
    assert level(torch.rand(2, 4, 16, 16)).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="LevelGenerator"):
        level(torch.rand(2, 3, 16, 16))
    D = nets.LevelDiscriminator(channels=3, size=16, width=8)
    assert D(torch.rand(2, 6, 16, 16)).shape == (2,)
    with pytest.raises(ValueError, match="LevelDiscriminator"):
        D(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="divisible by 4"):
        nets.LevelDiscriminator(size=10)


def test_lapgan_sampling_contract():
    torch.manual_seed(0)
    model = nets.LAPGAN(size=32, levels=3, width=8, hidden=32)
    model.train()
    a = model.sample(6, generator=torch.Generator().manual_seed(1))
    b = model.sample(6, generator=torch.Generator().manual_seed(1))
    assert a.shape == (6, 1, 32, 32) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert model.training
    steps = model.sample(6, generator=torch.Generator().manual_seed(1), levels=True)
    assert [s.shape[-1] for s in steps] == [8, 16, 32] and torch.equal(steps[-1], a)
    with pytest.raises(TypeError):
        model(torch.randn(2, 32))
