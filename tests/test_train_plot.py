import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib import data, fit, plot


def test_fit_reduces_a_quadratic_and_logs_extras():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.tensor([3.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    batches = data.loader(torch.zeros(8, 1), batch_size=4, shuffle=False)
    h = fit(lambda b: (((w - 1) ** 2).sum(), {"w": w.detach().item()}), opt, batches, epochs=20)
    assert len(h["loss"]) == 40 and len(h.epochs["loss"]) == 20
    assert h["loss"][-1] < 1e-3 < h["loss"][0] and abs(h["w"][-1] - 1) < 0.05


def test_fit_stops_on_nan_with_a_clear_message():
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(FloatingPointError, match="epoch 0, step 0"):
        fit(lambda b: torch.log(w - 1), opt, [torch.zeros(1)], epochs=1)


def test_image_grid_layout():
    x = torch.zeros(10, 1, 28, 28)
    g = plot.image_grid(x, nrow=4, pad=1)
    assert g.shape == (3 * 29 + 1, 4 * 29 + 1)
    assert plot.image_grid(torch.rand(2, 3, 8, 8), nrow=2).shape == (10, 19, 3)
    with pytest.raises(ValueError, match="square"):
        plot.image_grid(torch.rand(2, 10))


def test_plots_draw():
    ax = plot.show_images(torch.rand(16, 784), nrow=8, title="t")
    assert ax.get_title() == "t"
    ax = plot.plot_losses({"a": np.arange(10.0), "b": np.ones(10)}, smooth=3)
    assert len(ax.lines) == 2 and len(ax.lines[0].get_xdata()) == 8
    ax = plot.latent_scatter(torch.randn(30, 2), torch.randint(0, 10, (30,)))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.latent_scatter(torch.randn(3, 3))
    plt.close("all")


def test_gan_toy_plots():
    import matplotlib.pyplot as plt

    from course_lib import nets, toy
    from course_lib.plot import plot_cloud, plot_gan_1d

    target = toy.gaussian_1d(2.0, 0.5)
    ax = plot_gan_1d(target, torch.zeros(100, 1), nets.MLPDiscriminator(in_dim=1, hidden=8), xlim=(-2, 5))
    assert len(ax.lines) == 2 and len(ax.patches) >= 1          # density, D(x), histogram
    assert ax.get_ylim()[1] == pytest.approx(1.5 * float(target.prob(torch.tensor([2.0]))), rel=0.01)
    ax = plot_cloud(toy.eight_gaussians(50), toy.eight_gaussian_centres(), title="t")
    assert len(ax.collections) == 2 and ax.get_title() == "t"
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_cloud(torch.zeros(5, 3))
    plt.close("all")
