"""affect_book.losses against independent references: POT (exact and entropic OT), NumPy (CCC, finite
differences), torch's own cross-entropy, and hand-computed cases.

Random inputs are fresh draws on every run (the seed is printed in each failure message), over several class
counts and random valid costs (metric and non-metric, symmetric and asymmetric).
"""

import math

import numpy as np
import ot
import pytest
import torch

from affect_book import circumplex as cx
from affect_book import costs
from affect_book import losses as L

SEED = int(np.random.SeedSequence().entropy % 2**32)
CLASS_COUNTS = (2, 3, 5, 8, 12)


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)


def random_cost(k, rng, kind=None):
    """A random valid cost: Euclidean distances between random points, or a random non-negative matrix."""
    kind = kind or rng.choice(["metric", "asymmetric"])
    if kind == "metric":
        pts = rng.normal(size=(k, int(rng.integers(1, 4))))
        cost = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    else:
        cost = rng.uniform(0.05, 2.0, size=(k, k))
    np.fill_diagonal(cost, 0.0)
    return cost


def random_problem(k, batch, rng, scale=3.0):
    logits = torch.tensor(scale * rng.normal(size=(batch, k)))
    labels = torch.tensor(rng.integers(0, k, size=batch))
    return logits, labels


def softmax_np(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


# ----------------------------------------------------------------------------------------------- closed form

@pytest.mark.parametrize("k", CLASS_COUNTS)
def test_closed_form_equals_emd2_for_one_hot_targets(k, rng):
    logits, labels = random_problem(k, 16, rng)
    cost = random_cost(k, rng)
    probs = softmax_np(logits.numpy())
    ref = np.array([ot.emd2(probs[i], np.eye(k)[labels[i]], cost) for i in range(16)])
    got = L.expected_cost(logits, labels, cost, reduction="none").numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, err_msg=f"seed {SEED}")
    got_p = L.expected_cost(torch.tensor(probs), labels, cost, from_logits=False, reduction="none").numpy()
    np.testing.assert_allclose(got_p, ref, rtol=1e-9, atol=1e-12, err_msg=f"seed {SEED}")


def test_missing_labels_are_masked_without_nan(rng):
    logits, labels = random_problem(5, 10, rng)
    cost = random_cost(5, rng)
    labels[[1, 4, 7]] = -1
    per = L.expected_cost(logits, labels, cost, reduction="none")
    assert torch.all(per[[1, 4, 7]] == 0)
    keep = labels >= 0
    assert torch.isclose(L.expected_cost(logits, labels, cost), per[keep].mean())
    assert torch.isclose(L.expected_cost(logits, labels, cost, reduction="sum"), per[keep].sum())
    none = torch.full((10,), -1)
    logits.requires_grad_()
    loss = L.expected_cost(logits, none, cost)
    loss.backward()
    assert loss.item() == 0.0 and torch.all(logits.grad == 0)


@pytest.mark.parametrize("k", CLASS_COUNTS)
def test_uniform_cost_is_one_minus_p_true(k, rng):
    logits, labels = random_problem(k, 32, rng)
    got = L.expected_cost(logits, labels, costs.uniform_cost(k), reduction="none")
    p_true = torch.softmax(logits, -1)[torch.arange(32), labels]
    torch.testing.assert_close(got, 1 - p_true, msg=f"seed {SEED}")


@pytest.mark.parametrize("k", (3, 8))
def test_closed_form_gradient_matches_finite_differences(k, rng):
    logits, labels = random_problem(k, 6, rng)
    cost = random_cost(k, rng)
    z = logits.numpy()

    def value(zz):  # NumPy only: no autograd anywhere
        p = softmax_np(zz)
        return (p * cost[:, labels.numpy()].T).sum(-1)

    h = 1e-6
    fd = np.zeros_like(z)
    for j in range(k):
        dz = np.zeros_like(z)
        dz[:, j] = h
        fd[:, j] = (value(z + dz) - value(z - dz)) / (2 * h)
    leaf = logits.clone().requires_grad_()
    L.expected_cost(leaf, labels, cost, reduction="sum").backward()
    np.testing.assert_allclose(leaf.grad.numpy(), fd, atol=1e-7, err_msg=f"seed {SEED}")
    np.testing.assert_allclose(L.expected_cost_logit_grad(logits, labels, cost).numpy(), fd, atol=1e-7)


# ----------------------------------------------------------------------------------------------- Sinkhorn

def soft_targets(k, batch, rng):
    return torch.tensor(rng.dirichlet(np.full(k, 0.7), size=batch))


@pytest.mark.parametrize("k", (3, 5, 8))
@pytest.mark.parametrize("method", ("log", "scaling"))
def test_sinkhorn_matches_pot(k, method, rng):
    batch, reg = 8, 0.1
    logits, _ = random_problem(k, batch, rng, scale=1.5)
    cost = random_cost(k, rng)
    cost = cost / cost.max()  # max(C)/reg = 10: converged in the iterations given (slow cases need ~1/reg more)
    targets = soft_targets(k, batch, rng)
    a, b = softmax_np(logits.numpy()), targets.numpy()
    opts = dict(reg=reg, n_iter=2000, method=method, reduction="none")
    lin = L.entropic_ot(logits, targets, cost, value="linear", **opts).detach().numpy()
    kl = L.entropic_ot(logits, targets, cost, value="kl", **opts).numpy()
    ent = L.entropic_ot(logits, targets, cost, value="entropy", **opts).numpy()
    ref_lin = [ot.sinkhorn2(a[i], b[i], cost, reg, method="sinkhorn_log", numItermax=20000, stopThr=1e-13)
               for i in range(batch)]
    ref_kl = [ot.solve(cost, a[i], b[i], reg=reg, reg_type="KL", max_iter=20000, tol=1e-13).value
              for i in range(batch)]
    ref_ent = [ot.solve(cost, a[i], b[i], reg=reg, reg_type="entropy", max_iter=20000, tol=1e-13).value
               for i in range(batch)]
    for got, ref in ((lin, ref_lin), (kl, ref_kl), (ent, ref_ent)):
        np.testing.assert_allclose(got, np.array(ref, dtype=float), atol=1e-6, err_msg=f"seed {SEED}")


def test_float32_sinkhorn_matches_pot_and_the_float64_path(rng):
    """Float32 logits with max(C)/reg <= FLOAT32_MAX_RATIO iterate in float32 (the default training path)."""
    k, batch = 8, 16
    cost = costs.ot_cost("affectnet8", fill={"Contempt": (-0.555, 0.47)}).to_numpy()
    logits, labels = random_problem(k, batch, rng, scale=2.0)
    targets = L.smooth_labels(labels, k, 0.1).double()
    for reg, n_iter in ((0.2, 2000), (0.05, 100)):
        assert cost.max() / reg <= L.FLOAT32_MAX_RATIO
        z32 = logits.float().requires_grad_()
        got = L.entropic_ot(z32, targets.float(), cost, reg=reg, n_iter=n_iter, reduction="none")
        assert got.dtype == torch.float32
        got.sum().backward()
        z64 = logits.clone().requires_grad_()
        ref64 = L.entropic_ot(z64, targets, cost, reg=reg, n_iter=n_iter, reduction="none")
        ref64.sum().backward()
        np.testing.assert_allclose(got.detach().numpy(), ref64.detach().numpy(), atol=2e-6, err_msg=f"seed {SEED}")
        np.testing.assert_allclose(z32.grad.numpy(), z64.grad.numpy(), atol=2e-6, err_msg=f"seed {SEED}")
        if n_iter == 2000:  # converged: against POT
            ref = L.pot_ot(logits, targets, cost, "batch", reg=reg, reduction="none", max_iter=5000, tol=1e-12)
            np.testing.assert_allclose(got.detach().numpy(), ref.numpy(), atol=2e-6, err_msg=f"seed {SEED}")


@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
def test_default_sinkhorn_path_masks_and_reduces_like_the_autograd_path(reduction, rng):
    """The default path (scaling, kl, one autograd node) gives the value and gradient of the log method (whose
    gradient autograd computes through the generic masked reduction), with a missing row and every reduction."""
    k, batch = 6, 7
    logits, labels = random_problem(k, batch, rng, scale=1.5)
    labels[3] = -1
    # smoothed in float64 so that rows sum to 1 to float64 precision (the dual value of rows that do not sum
    # exactly to 1 depends on the free constant of the potentials, which the two methods fix differently)
    targets = torch.nn.functional.one_hot(labels.clamp_min(0), k).double() * 0.8 + 0.2 / k
    targets[3] = -1.0
    cost = random_cost(k, rng, "metric")
    weights = torch.tensor(rng.uniform(0.5, 2.0, size=batch) if reduction == "none" else 1.0)
    grads, values = [], []
    for method in ("scaling", "log"):
        leaf = logits.clone().requires_grad_()
        value = L.entropic_ot(leaf, targets, cost, reg=0.1, n_iter=50, method=method, reduction=reduction)
        (value * weights).sum().backward()
        grads.append(leaf.grad)
        values.append(value.detach())
    torch.testing.assert_close(values[0], values[1], atol=1e-10, rtol=0, msg=lambda m: f"seed {SEED}: {m}")
    torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0, msg=lambda m: f"seed {SEED}: {m}")
    assert torch.all(grads[0][3] == 0)


@pytest.mark.parametrize("dtype", (torch.float32, torch.float64))
def test_numpy_and_torch_scaling_loops_agree(dtype, rng):
    """On a CPU the no-autograd scaling loop runs through NumPy; the torch loop (what a GPU runs) gives the same."""
    cost = costs.ot_cost("affectnet8", fill={"Contempt": (-0.555, 0.47)}).to_numpy()
    logits, labels = random_problem(8, 32, rng, scale=2.0)
    targets = L.smooth_labels(labels, 8, 0.1).to(dtype)
    results = []
    for numpy_loop in (True, False):
        leaf = logits.to(dtype).requires_grad_()
        value = L.entropic_ot(leaf, targets, cost, reduction="none", numpy_loop=numpy_loop)
        value.sum().backward()
        results.append((value.detach(), leaf.grad))
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    for got, ref in zip(*results):
        torch.testing.assert_close(got, ref, atol=tol, rtol=0, msg=lambda m: f"seed {SEED}: {m}")


def test_sinkhorn_batch_solver_of_pot_agrees(rng):
    k, batch, reg = 6, 10, 0.1
    logits, labels = random_problem(k, batch, rng, scale=1.0)
    cost = random_cost(k, rng, "metric")
    cost = cost / cost.max()
    targets = L.smooth_labels(labels, k, 0.2).double()
    ours = L.entropic_ot(logits, targets, cost, reg=reg, n_iter=2000, reduction="none")
    pots = L.pot_ot(logits, targets, cost, "batch", reg=reg, reduction="none", max_iter=5000, tol=1e-12)
    torch.testing.assert_close(ours, pots, atol=1e-6, rtol=0, msg=f"seed {SEED}")


@pytest.mark.parametrize("k", (4, 8))
def test_sinkhorn_tends_to_exact_ot_as_regularisation_shrinks(k, rng):
    batch = 6
    logits, _ = random_problem(k, batch, rng, scale=1.0)
    cost = random_cost(k, rng, "metric")
    cost = cost / cost.max()
    targets = soft_targets(k, batch, rng)
    exact = np.array([ot.emd2(softmax_np(logits.numpy())[i], targets.numpy()[i], cost) for i in range(batch)])
    gaps = []
    for reg in (0.2, 0.01):
        got = L.entropic_ot(logits, targets, cost, reg=reg, n_iter=5000, value="linear", method="scaling",
                            reduction="none").detach().numpy()
        gaps.append(np.abs(got - exact).max())
    assert gaps[1] < gaps[0], f"seed {SEED}: gaps {gaps} do not shrink"
    assert gaps[1] < 0.01, f"seed {SEED}: at reg 0.01 the gap to ot.emd2 is {gaps[1]:.4f}"
    pot_exact = L.pot_ot(logits, targets, cost, "emd2", reduction="none").numpy()
    np.testing.assert_allclose(pot_exact, exact, atol=1e-12)


@pytest.mark.parametrize("reg", (0.02, 0.3))
def test_entropic_values_with_one_hot_targets(reg, rng):
    """KL value = closed form for every reg; entropy value adds reg * sum p log p (a confidence term)."""
    k = 7
    logits, labels = random_problem(k, 12, rng, scale=2.0)
    cost = random_cost(k, rng, "metric")
    onehot = torch.nn.functional.one_hot(labels, k).double()
    closed = L.expected_cost(logits, labels, cost, reduction="none")
    kl = L.entropic_ot(logits, onehot, cost, reg=reg, n_iter=50, reduction="none")
    torch.testing.assert_close(kl, closed, atol=1e-9, rtol=0, msg=f"seed {SEED}")
    p = softmax_np(logits.numpy())
    ent = L.entropic_ot(logits, onehot, cost, reg=reg, n_iter=50, value="entropy", reduction="none").numpy()
    np.testing.assert_allclose(ent, closed.numpy() + reg * (p * np.log(p)).sum(-1), atol=1e-9)


@pytest.mark.parametrize("method", ("log", "scaling"))
def test_sinkhorn_gradients_match_finite_differences(method, rng):
    k, batch, reg, h = 5, 3, 0.1, 1e-5
    logits, _ = random_problem(k, batch, rng, scale=1.0)
    cost = random_cost(k, rng, "metric")
    cost = cost / cost.max()
    targets = soft_targets(k, batch, rng)
    z = logits.numpy()
    b = targets.numpy()

    def pot_kl(zz, i):  # POT, not our solver, gives the values differenced (row i: the only one that changes)
        a = softmax_np(zz[i])
        return ot.solve(cost, a, b[i], reg=reg, reg_type="KL", max_iter=20000, tol=1e-14).value

    for value, n_iter in (("kl", 2000), ("linear", 40)):
        leaf = logits.clone().requires_grad_()
        L.entropic_ot(leaf, targets, cost, reg=reg, n_iter=n_iter, value=value, method=method,
                      reduction="sum").backward()
        fd = np.zeros_like(z)
        for j in range(k):
            for i in range(batch):
                dz = np.zeros_like(z)
                dz[i, j] = h
                if value == "kl":
                    fd[i, j] = (pot_kl(z + dz, i) - pot_kl(z - dz, i)) / (2 * h)
                else:  # the linear value of exactly n_iter iterations, evaluated without autograd
                    with torch.no_grad():
                        plus = L.entropic_ot(torch.tensor(z + dz), targets, cost, reg=reg, n_iter=n_iter,
                                             value=value, method=method, reduction="sum")
                        minus = L.entropic_ot(torch.tensor(z - dz), targets, cost, reg=reg, n_iter=n_iter,
                                              value=value, method=method, reduction="sum")
                    fd[i, j] = float(plus - minus) / (2 * h)
        np.testing.assert_allclose(leaf.grad.numpy(), fd, atol=2e-6, err_msg=f"{value}, seed {SEED}")


def test_scaling_method_refuses_a_too_small_regularisation():
    cost = costs.ot_cost("affectnet7")
    z, t = torch.zeros(2, 7), torch.full((2, 7), 1 / 7)
    with pytest.raises(ValueError, match="max\\(cost\\)/reg"):
        L.entropic_ot(z, t, cost, reg=1e-3, method="scaling")
    assert torch.isfinite(L.entropic_ot(z, t, cost, reg=1e-3, n_iter=5))  # auto falls back to the log method


def test_missing_soft_targets_are_masked(rng):
    logits, labels = random_problem(4, 6, rng)
    labels[2] = -1
    targets = L.smooth_labels(labels, 4, 0.1)
    assert torch.all(targets[2] == -1)
    per = L.entropic_ot(logits, targets, random_cost(4, rng), reduction="none")
    assert per[2] == 0 and torch.isfinite(per).all()


# ----------------------------------------------------------------------------------------------- stability

def test_stable_with_logits_of_magnitude_1e4(rng):
    k = 8
    raw = 1e4 * rng.uniform(-1.0, 0.5, size=(16, k))
    raw[np.arange(16), rng.integers(0, k, 16)] = 1e4  # one clear winner per row, the rest 5e3 or more below
    logits = torch.tensor(raw, dtype=torch.float32, requires_grad=True)
    labels = torch.tensor(rng.integers(0, k, 16))
    cost = costs.ot_cost("affectnet8", fill={"Contempt": (-0.555, 0.47)}).to_numpy()
    targets = L.smooth_labels(labels, k, 0.1)
    counts = rng.integers(5, 500, size=k)
    losses = {
        "closed": L.expected_cost(logits, labels, cost),
        "sinkhorn log": L.entropic_ot(logits, targets, cost, method="log", n_iter=20),
        "sinkhorn scaling": L.entropic_ot(logits, targets, cost, method="scaling", n_iter=20),
        "sinkhorn linear": L.entropic_ot(logits, targets, cost, value="linear", n_iter=20),
        "sinkhorn entropy": L.entropic_ot(logits, targets, cost, value="entropy", n_iter=20),
        "focal": L.focal_loss(logits, labels),
        "ldam": L.ldam_loss(logits, labels, L.ldam_margins(counts)),
        "logit adjusted": L.logit_adjusted_loss(logits, labels, counts),
        "balanced softmax": L.balanced_softmax_loss(logits, labels, counts),
        "confidence penalty": L.confidence_penalty_loss(logits, labels),
        "weighted ce": L.weighted_cross_entropy(logits, labels, L.class_balanced_weights(counts)),
        "soft ce": L.soft_cross_entropy(logits, targets),
        "bce": L.masked_bce_with_logits(logits, (labels[:, None] == torch.arange(k)).float()),
    }
    for name, loss in losses.items():
        logits.grad = None
        loss.backward()
        assert torch.isfinite(loss), name
        assert torch.isfinite(logits.grad).all(), name
    # at this magnitude p is one-hot on the argmax: the closed form is the cost of the argmax
    top = logits.detach().argmax(-1)
    expected = torch.tensor(cost, dtype=torch.float32)[top, labels].mean()
    torch.testing.assert_close(losses["closed"], expected)


def test_exact_under_bf16_autocast(rng):
    k = 8
    layer = torch.nn.Linear(16, k)
    x = torch.tensor(rng.normal(size=(32, 16)), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, k, 32))
    labels[0] = -1
    cost = costs.ot_cost("affectnet8", fill={"Contempt": (-0.555, 0.47)}).to_numpy()
    targets = L.smooth_labels(labels, k, 0.1)
    va_targets = torch.tensor(rng.uniform(-1, 1, size=(32, 2)), dtype=torch.float32)
    fns = {
        "closed": lambda z: L.expected_cost(z, labels, cost),
        "sinkhorn": lambda z: L.entropic_ot(z, targets, cost, n_iter=30),
        "focal": lambda z: L.focal_loss(z, labels),
        "ccc": lambda z: L.ccc_loss(z[:, :2], va_targets),
        "bce": lambda z: L.masked_bce_with_logits(z, (labels[:, None] == torch.arange(k)).float()),
    }
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z16 = layer(x)
        assert z16.dtype == torch.bfloat16
        inside = {name: fn(z16) for name, fn in fns.items()}
    for name, fn in fns.items():
        assert inside[name].dtype == torch.float32, name
        torch.testing.assert_close(inside[name], fn(z16.detach().float()), msg=name)


def test_forward_pass_has_no_data_dependent_host_operation():
    """On the "meta" device tensors have no data: an .item(), a boolean index or a data-dependent branch raises.
    (On a GPU the same property means no host synchronisation.)"""
    meta = torch.device("meta")
    cost = torch.empty(7, 7, device=meta)
    z = torch.empty(4, 7, device=meta, requires_grad=True)
    y = torch.empty(4, dtype=torch.long, device=meta)
    t = torch.empty(4, 7, device=meta)
    counts = np.arange(1, 8)
    calls = [
        lambda: L.expected_cost(z, y, cost),
        lambda: L.entropic_ot(z, t, cost, method="log", n_iter=3),
        lambda: L.entropic_ot(z, t, cost, method="scaling", n_iter=3),
        lambda: L.entropic_ot(z, t, cost, value="linear", n_iter=3),
        lambda: L.ccc_loss(z[:, :2], torch.empty(4, 2, device=meta)),
        lambda: L.masked_bce_with_logits(z, torch.empty(4, 7, device=meta)),
        lambda: L.focal_loss(z, y, alpha=np.ones(7)),
        lambda: L.ldam_loss(z, y, L.ldam_margins(counts)),
        lambda: L.logit_adjusted_loss(z, y, counts),
        lambda: L.balanced_softmax_loss(z, y, counts),
        lambda: L.confidence_penalty_loss(z, y),
        lambda: L.weighted_cross_entropy(z, y, L.inverse_frequency_weights(counts)),
        lambda: L.soft_cross_entropy(z, L.smooth_labels(y, 7, 0.1)),
    ]
    for call in calls:
        call().backward()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_no_host_synchronisation_on_gpu():
    dev = torch.device("cuda")
    z = torch.randn(64, 8, device=dev, requires_grad=True)
    y = torch.randint(-1, 8, (64,), device=dev)
    loss_module = L.OTLoss(costs.ot_cost("affectnet8", fill={"Contempt": (-0.555, 0.47)})).to(dev)
    soft = L.smooth_labels(y, 8, 0.1)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        total = loss_module(z, y) + loss_module(z, soft) + L.ccc_loss(z[:, :2], z[:, 2:4].detach())
        total.backward()
    finally:
        torch.cuda.set_sync_debug_mode(0)


def test_ot_loss_module_dispatches(rng):
    cost = costs.ot_cost("affectnet7")
    module = L.OTLoss(cost, classes=cx.class_set("affectnet7"), weight=0.5)
    logits, labels = random_problem(7, 8, rng)
    torch.testing.assert_close(module(logits, labels), 0.5 * L.expected_cost(logits, labels, cost))
    soft = L.smooth_labels(labels, 7, 0.1).double()
    # the module resolves "auto" to the scaling method; the log method runs the same iterates
    torch.testing.assert_close(module(logits, soft), 0.5 * L.entropic_ot(logits, soft, cost, method="log"))
    z, t = torch.randn(5, 7, dtype=torch.float64), L.smooth_labels(torch.randint(0, 7, (5,)), 7, 0.3).double()
    for n_iter in (1, 3, 10):
        torch.testing.assert_close(L.entropic_ot(z, t, cost, n_iter=n_iter, method="scaling"),
                                   L.entropic_ot(z, t, cost, n_iter=n_iter, method="log"))
    with pytest.raises(ValueError, match="zero diagonal"):
        L.OTLoss(np.ones((7, 7)))


# ----------------------------------------------------------------------------------------------- VA and AU

def ccc_numpy(x, y):
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    return 2 * cov / (x.var() + y.var() + (mx - my) ** 2)  # np.var: ddof = 0


def test_ccc_matches_numpy_and_is_one_for_identical_inputs(rng):
    x = rng.uniform(-1, 1, size=(200, 2))
    y = np.clip(0.6 * x + rng.normal(0, 0.3, size=(200, 2)) + 0.1, -1, 1)
    got = L.ccc(torch.tensor(x), torch.tensor(y)).numpy()
    np.testing.assert_allclose(got, [ccc_numpy(x[:, d], y[:, d]) for d in range(2)], rtol=1e-12)
    np.testing.assert_allclose(L.ccc(torch.tensor(y), torch.tensor(y)).numpy(), [1.0, 1.0], rtol=1e-12)
    assert math.isclose(float(L.ccc_loss(torch.tensor(y), torch.tensor(y))), 0.0, abs_tol=1e-12)
    # invalid markers (-5 as in Aff-Wild2) are left out of every moment
    y_bad = y.copy()
    y_bad[:30, 0] = -5.0
    got = L.ccc(torch.tensor(x), torch.tensor(y_bad)).numpy()
    assert math.isclose(got[0], ccc_numpy(x[30:, 0], y[30:, 0]), rel_tol=1e-12)
    assert math.isclose(got[1], ccc_numpy(x[:, 1], y[:, 1]), rel_tol=1e-12)


def test_masked_bce_matches_the_labelled_entries(rng):
    logits = torch.tensor(rng.normal(size=(20, 12)))
    targets = torch.tensor(rng.integers(-1, 2, size=(20, 12)), dtype=torch.float64)
    keep = targets >= 0
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits[keep], targets[keep])
    torch.testing.assert_close(L.masked_bce_with_logits(logits, targets), ref)
    assert float(L.masked_bce_with_logits(logits, torch.full_like(targets, -1.0))) == 0.0


# ----------------------------------------------------------------------------------------------- controls

def test_class_weights_hand_computed():
    np.testing.assert_allclose(L.inverse_frequency_weights([10, 30, 60]), [2.0, 2 / 3, 1 / 3])
    # Cui et al.: (1 - b) / (1 - b^n), b = 0.9, n = (1, 2): (1, 1/1.9), normalised to sum 2
    raw = np.array([1.0, 0.1 / 0.19])
    np.testing.assert_allclose(L.class_balanced_weights([1, 2], beta=0.9), raw * 2 / raw.sum())
    np.testing.assert_allclose(L.class_balanced_weights([5, 500], beta=0.0), [1.0, 1.0])
    np.testing.assert_allclose(L.deferred_reweighting(0, 2, [5, 50]), [1, 1])
    np.testing.assert_allclose(L.deferred_reweighting(2, 2, [5, 50], beta=0.9),
                               L.class_balanced_weights([5, 50], beta=0.9))
    np.testing.assert_array_equal(L.class_counts(np.array([0, 2, 2, -1]), 3), [1, 0, 2])
    with pytest.raises(ValueError, match="positive count"):
        L.inverse_frequency_weights([3, 0])


def test_weighted_cross_entropy_matches_torch(rng):
    logits, labels = random_problem(5, 30, rng)
    w = L.inverse_frequency_weights(rng.integers(1, 100, size=5))
    labels[3] = -1
    ref = torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor(w), ignore_index=-1)
    torch.testing.assert_close(L.weighted_cross_entropy(logits, labels, w), ref)
    ref_plain = torch.nn.functional.cross_entropy(logits, labels, ignore_index=-1)
    torch.testing.assert_close(L.weighted_cross_entropy(logits, labels), ref_plain)


def test_controls_hand_computed():
    two = torch.log(torch.tensor([[0.8, 0.2]], dtype=torch.float64))
    y0 = torch.tensor([0])
    assert math.isclose(float(L.focal_loss(two, y0, gamma=2.0)), 0.2 ** 2 * -math.log(0.8), rel_tol=1e-12)
    assert math.isclose(float(L.focal_loss(two, y0, gamma=0.0, alpha=[0.25, 0.75])), -0.25 * math.log(0.8),
                        rel_tol=1e-12)
    np.testing.assert_allclose(L.ldam_margins([1, 16], max_margin=0.5), [0.5, 0.25])
    zero = torch.zeros(1, 2, dtype=torch.float64)
    # true logit 0 lowered by 0.5: CE on (-0.5, 0) = log(1 + e^0.5)
    assert math.isclose(float(L.ldam_loss(zero, y0, [0.5, 0.25])), math.log(1 + math.exp(0.5)), rel_tol=1e-12)
    y1 = torch.tensor([1])
    assert math.isclose(float(L.logit_adjusted_loss(zero, y1, [0.75, 0.25])), -math.log(0.25), rel_tol=1e-12)
    assert math.isclose(float(L.balanced_softmax_loss(zero, y1, [30, 10])), -math.log(0.25), rel_tol=1e-12)
    adjusted = L.logit_adjust(zero, [0.75, 0.25])
    np.testing.assert_allclose(adjusted.numpy(), [[-math.log(0.75), -math.log(0.25)]])
    assert int(adjusted.argmax()) == 1  # post hoc, the rare class wins a tie
    smooth = L.smooth_labels(torch.tensor([0, -1]), 4, 0.2)
    np.testing.assert_allclose(smooth.numpy(), [[0.85, 0.05, 0.05, 0.05], [-1, -1, -1, -1]])
    assert math.isclose(float(L.soft_cross_entropy(torch.zeros(1, 4), smooth[:1])), math.log(4), rel_tol=1e-6)
    # uniform prediction over 4 classes: CE = log 4, H = log 4
    assert math.isclose(float(L.confidence_penalty_loss(torch.zeros(1, 4, dtype=torch.float64), y0, beta=0.5)),
                        0.5 * math.log(4), rel_tol=1e-12)
    np.testing.assert_allclose(L.sampling_weights([0, 0, 1]), [0.5, 0.5, 1.0])
    np.testing.assert_allclose(L.sampling_weights([0, -1, 1], missing="zero"), [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="1 of 3 samples have no label"):
        L.sampling_weights([0, -1, 1])


def test_bad_shapes_fail_clearly():
    with pytest.raises(ValueError, match="expected \\(4,\\) integer class indices"):
        L.expected_cost(torch.zeros(4, 3), torch.zeros(4, 3), costs.uniform_cost(3))
    with pytest.raises(ValueError, match="expected \\(3, 3\\)"):
        L.expected_cost(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), costs.uniform_cost(4))
    with pytest.raises(ValueError, match="reduction"):
        L.expected_cost(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), costs.uniform_cost(3), reduction="avg")
    with pytest.raises(ValueError, match="target distributions"):
        L.entropic_ot(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), costs.uniform_cost(3))


def test_pot_backend_solvers_agree_with_the_torch_path(rng):
    k, batch, reg = 5, 6, 0.1
    logits, labels = random_problem(k, batch, rng, scale=1.0)
    cost = random_cost(k, rng, "metric")
    cost = cost / cost.max()
    targets = soft_targets(k, batch, rng)
    exact = L.pot_ot(logits, targets, cost, "emd2", reduction="none")
    torch.testing.assert_close(L.pot_ot(logits, targets, cost, "solve", reduction="none"), exact)
    torch.testing.assert_close(L.pot_ot(logits, targets, cost, "solve", reg=reg, reduction="none", tol=1e-12,
                                        max_iter=20000),
                               L.entropic_ot(logits, targets, cost, reg=reg, n_iter=2000, reduction="none"),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(L.pot_ot(logits, targets, cost, "sinkhorn2", reg=reg, reduction="none",
                                        stopThr=1e-12, numItermax=20000),
                               L.entropic_ot(logits, targets, cost, reg=reg, n_iter=2000, value="linear",
                                             reduction="none"), atol=1e-6, rtol=0)


def test_pot_emd2_gradient_equals_the_closed_form_gradient(rng):
    """ot.emd2's torch backend differentiates through the dual potentials, independently of the closed form."""
    k = 6
    logits, labels = random_problem(k, 8, rng)
    cost = random_cost(k, rng)
    onehot = torch.nn.functional.one_hot(labels, k).double()
    via_pot = logits.clone().requires_grad_()
    L.pot_ot(via_pot, onehot, cost, "emd2", reduction="sum").backward()
    closed = logits.clone().requires_grad_()
    L.expected_cost(closed, labels, cost, reduction="sum").backward()
    torch.testing.assert_close(via_pot.grad, closed.grad, msg=f"seed {SEED}")


# ----------------------------------------------------------------------------------------------- expression losses

def test_class_balanced_default_beta_separates_the_s_affwild2_classes():
    from affect_book.data.published import published_counts

    counts = published_counts("s-affwild2-train").to_numpy()
    assert L.EXPRESSION_LOSSES["class_balanced"].default == 0.9999
    default = L.class_balanced_weights(counts)
    low = L.class_balanced_weights(counts, beta=0.999)
    # by hand: w_c proportional to (1 - beta) / (1 - beta^n_c)
    for beta, got in ((0.9999, default), (0.999, low)):
        raw = (1 - beta) / (1 - beta ** counts.astype(float))
        np.testing.assert_allclose(got, raw * len(raw) / raw.sum())
    assert default.max() / default.min() > 3.0  # far from 1 at Cui et al.'s recommended beta
    assert low.max() / low.min() == pytest.approx(1.05, abs=0.01)  # a no-op at 0.999


def test_gce_hand_computed_and_limits(rng):
    logits = torch.tensor([[0.0, math.log(3.0)], [1.0, 1.0]], dtype=torch.float64)  # p = (1/4, 3/4), (1/2, 1/2)
    y = torch.tensor([1, 0])
    got = L.gce_loss(logits, y, q=0.5, reduction="none")
    torch.testing.assert_close(got, torch.tensor([(1 - 0.75 ** 0.5) / 0.5, (1 - 0.5 ** 0.5) / 0.5],
                                                 dtype=torch.float64))
    z, labels = random_problem(5, 16, rng)
    labels[3] = -1
    ce = torch.nn.functional.cross_entropy(z, labels, ignore_index=-1, reduction="none")
    torch.testing.assert_close(L.gce_loss(z, labels, q=1e-7, reduction="none"), ce, atol=1e-5, rtol=1e-5)
    p_y = torch.softmax(z, -1).gather(1, labels.clamp_min(0)[:, None]).squeeze(1)
    mae = 0.5 * (torch.softmax(z, -1) - torch.nn.functional.one_hot(labels.clamp_min(0), 5)).abs().sum(-1)
    torch.testing.assert_close(L.gce_loss(z, labels, q=1.0, reduction="none"),
                               torch.where(labels >= 0, 1 - p_y, torch.zeros_like(p_y)))
    torch.testing.assert_close(L.gce_loss(z, labels, q=1.0, reduction="none")[labels >= 0], mae[labels >= 0])
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="q="):
            L.gce_loss(z, labels, q=bad)


def test_expression_loss_table(rng):
    z, labels = random_problem(4, 12, rng)
    counts = np.array([50.0, 20.0, 5.0, 1.0])
    rows = {name: (e.parameter, e.default, e.needs_counts) for name, e in L.EXPRESSION_LOSSES.items()}
    assert rows["gce"] == ("q", 0.7, False) and rows["confidence_penalty"] == ("beta", 0.1, False)
    assert rows["ce"] == (None, None, False) and rows["balanced_softmax"] == (None, None, True)
    assert L.expression_loss("ce", z, labels) == L.weighted_cross_entropy(z, labels)
    torch.testing.assert_close(L.expression_loss("gce", z, labels), L.gce_loss(z, labels, q=0.7))
    torch.testing.assert_close(L.expression_loss("class_balanced", z, labels, counts=counts),
                               L.weighted_cross_entropy(z, labels, L.class_balanced_weights(counts, 0.9999)))
    torch.testing.assert_close(L.expression_loss("focal", z, labels, 0.0), L.weighted_cross_entropy(z, labels))
    for name, entry in L.EXPRESSION_LOSSES.items():
        assert torch.isfinite(L.expression_loss(name, z, labels, counts=counts, epoch=0, epochs=5))
        if entry.needs_counts:
            with pytest.raises(ValueError, match="needs the training class counts"):
                L.expression_loss(name, z, labels)
        if entry.needs_epoch:
            with pytest.raises(ValueError, match="needs the 0-based epoch"):
                L.expression_loss(name, z, labels, counts=counts)
    with pytest.raises(ValueError, match="has no parameter"):
        L.expression_param("ce", 0.3)
    with pytest.raises(ValueError, match=r"beta in \[0, 1\)"):
        L.expression_param("class_balanced", 1.0)
    with pytest.raises(ValueError, match="Did you mean 'gce'"):
        L.expression_param("gcee")


def test_numpy_loop_is_resolved_per_call_from_the_device():
    assert not hasattr(L, "NUMPY_LOOP_ON_CPU")
    z = torch.zeros(2, 3, device="meta")
    with pytest.raises(ValueError, match="numpy_loop=True needs CPU tensors"):
        L.entropic_ot(z, torch.full((2, 3), 1 / 3, device="meta"), costs.uniform_cost(3), numpy_loop=True)
