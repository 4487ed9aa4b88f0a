"""Interactive figures: their numbers against the package's losses and the simulator; widgets without a front end."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from affect_book import circumplex as cx  # noqa: E402
from affect_book import costs  # noqa: E402
from affect_book.site import widgets  # noqa: E402
from affect_book import losses as L  # noqa: E402

TRIO = ["Anger", "Fear", "Happy"]


@pytest.fixture(scope="module")
def trio_costs():
    return {"circumplex": costs.ot_cost(TRIO, "va").to_numpy(), "uniform": costs.ot_cost(TRIO, "uniform").to_numpy(),
            "uniform column": costs.uniform_column_cost(costs.ot_cost(TRIO, "va").to_numpy())}


@pytest.mark.parametrize("a, b", [(0.3, 0.6), (0.98, 0.98), (0.0, 0.0), (0.5, 0.49)])
def test_simplex_point_is_a_probability_vector_with_a_floor(a, b):
    p = widgets.simplex_point(a, b, floor=0.01)
    assert p.shape == (3,) and abs(p.sum() - 1) < 1e-12 and p.min() >= 0.01 - 1e-12
    if a + b <= 0.99 and min(a, b) >= 0.01:
        assert np.allclose(p[:2], [a, b])


@pytest.mark.parametrize("true_class", [0, 1, 2])
def test_ot_terms_match_the_package_loss_and_autograd(trio_costs, true_class):
    p = np.array([0.2, 0.7, 0.1])
    table = widgets.ot_terms(p, trio_costs, true_class, TRIO)
    logits = torch.tensor(np.log(p)[None], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([true_class])
    for name, cost in trio_costs.items():
        value = L.expected_cost(logits, y, cost)
        (grad,) = torch.autograd.grad(value, logits)
        assert table.loc[name, "W"] == pytest.approx(float(value.detach()), abs=1e-12)
        assert np.allclose(table.loc[name, [f"dW/dz[{c}]" for c in TRIO]].to_numpy(float), grad[0].numpy())
        # the step in probabilities: a small logit step -eps * grad changes softmax by about eps * step
        eps = 1e-6
        moved = torch.softmax(logits.detach() - eps * grad, dim=1)[0].numpy()
        step = table.loc[name, [f"step p[{c}]" for c in TRIO]].to_numpy(float)
        assert np.allclose((moved - p) / eps, step, atol=1e-5)
    # the uniform cost's OT term is s (1 - p_y)
    s = trio_costs["uniform"][0, 1]
    assert table.loc["uniform", "W"] == pytest.approx(s * (1 - p[true_class]))


def test_ot_terms_reject_bad_input(trio_costs):
    with pytest.raises(ValueError, match="probability vector"):
        widgets.ot_terms([0.5, 0.6, 0.1], trio_costs, 0)
    with pytest.raises(ValueError, match="true_class"):
        widgets.ot_terms([0.5, 0.4, 0.1], trio_costs, 3)
    with pytest.raises(ValueError, match="shape"):
        widgets.ot_terms([0.5, 0.4, 0.1], {"bad": np.zeros((2, 2))}, 0)


def test_draw_ot_simplex_returns_a_figure_and_the_terms(trio_costs):
    fig, table = widgets.draw_ot_simplex([0.3, 0.6, 0.1], trio_costs, TRIO, 0)
    assert len(fig.axes) == 2 and list(table.index) == list(trio_costs)
    heights = [patch.get_height() for patch in fig.axes[1].patches]
    assert np.allclose(heights, table["W"].to_numpy(float))
    plt.close(fig)


def test_simulator_knobs_act_as_the_simulator_says():
    base = widgets.simulator_knobs(0.0, 0.0, 1.0, n_points=64, size=32)
    blended = widgets.simulator_knobs(1.0, 1.0, 1.0, n_points=64, size=32)
    pair = base["pair"]
    # visual degeneracy 1: the pair's faces are the same image; 0: they differ
    assert base["summary"].loc[0, "pixel difference of the pair's faces"] > 1
    assert blended["summary"].loc[0, "pixel difference of the pair's faces"] == 0
    # VA degeneracy 0: the centroids are the published coordinates (Russell & Mehrabian 1977); 1: one point
    published = cx.coordinates(list(pair), "russell1977").va
    assert base["summary"].loc[0, "centroid distance"] == pytest.approx(np.linalg.norm(published[0] - published[1]))
    assert blended["summary"].loc[0, "centroid distance"] == pytest.approx(0.0, abs=1e-12)
    # at intensity 1 the cloud of each class sits around its centroid (label = centroid + N(0, 0.08))
    for name in pair:
        cloud = base["va"][base["label"] == name]
        assert len(cloud) >= 4
        assert np.abs(cloud.mean(0) - np.array(base["centroids"][name])).max() < 0.15
    with pytest.raises(ValueError, match="intensity"):
        widgets.simulator_knobs(intensity=1.5)


def test_builders_construct_widgets_without_a_front_end(trio_costs):
    import ipywidgets

    box = widgets.interactive_ot_simplex(trio_costs, TRIO)
    sliders = [c for c in box.children[0].children if isinstance(c, ipywidgets.FloatSlider)]
    assert isinstance(box, ipywidgets.VBox) and len(sliders) == 2
    sliders[0].value = 0.5  # moving a slider redraws without a front end and without blocking
    knobs = widgets.interactive_simulator_knobs(n_points=32, size=32)
    assert [c.description for c in knobs.children[0].children] == ["visual degeneracy", "VA degeneracy", "intensity"]
    plt.close("all")


def test_live_front_end_is_off_in_tests_and_can_be_forced(monkeypatch):
    monkeypatch.delenv("AFFECT_BOOK_INTERACTIVE", raising=False)
    assert widgets.live_front_end() is False  # pytest is not a kernel started by a Jupyter server
    monkeypatch.setenv("AFFECT_BOOK_INTERACTIVE", "1")
    assert widgets.live_front_end() is True
    monkeypatch.setenv("AFFECT_BOOK_INTERACTIVE", "yes")
    with pytest.raises(ValueError, match="AFFECT_BOOK_INTERACTIVE"):
        widgets.live_front_end()
