# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,jupyter,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Optimal transport: pricing a confusion by where it lands
#
# Cross-entropy asks one thing of a prediction: how much probability it puts on the true class. Where the rest of the
# probability goes does not matter to it: an anger face read as fear and an anger face read as happiness cost the
# same. The study this book follows {footcite:p}`study2026circumplex` adds an **optimal-transport (OT) term** (a
# Wasserstein loss, as in Frogner et al. 2015 {footcite:p}`frogner2015wasserstein`) that prices each confusion by the
# distance between the two classes on Russell's circumplex {footcite:p}`russell1980circumplex`, so that errors land
# near the truth. Its decisive control is a **uniform cost** of the same scale, which prices every confusion the same.
#
# **You will learn** what optimal transport between two label distributions is, and compute it with POT
# {footcite:p}`flamary2021pot`; why, for a one-hot label, the OT term needs no solver (the plan is forced and the
# value is an expected cost); why the uniform cost reduces to `s (1 - p(true))` and what its gradient does to
# cross-entropy's; why a circumplex cost barely prices the confusion between two classes that sit on top of each
# other, and even pulls the prediction *towards* the near neighbour; how Sinkhorn handles soft targets and what its
# regularisation does; and what each cost's gradient does on the probability simplex. **Time:** under a minute on a
# CPU; no GPU needed.
#
# The package's tested versions live in `affect_book/losses/` (the OT term and the other losses) and
# `affect_book/costs/` (the cost matrices); here each is first written in a few open lines and checked against
# it, and against POT, the reference library for OT.

# %% tags=["parameters"]
PROFILE = "cpu"
COORDINATES = "russell1977"  # published coordinate set for the circumplex cost: "russell1977" or "russell1980"
REG = 0.05  # entropic regularisation of the Sinkhorn sections, in cost units (valence-arousal distance)
CONFIDENCE = 0.9  # probability a confident wrong prediction puts on its wrong class
SEED = 0

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import ot
import pandas as pd
import seaborn as sns
import torch

from affect_book import circumplex as cx
from affect_book import costs
from affect_book import losses as L
from affect_book.data.published import published_counts
from affect_book.params import check_choice, check_number
from affect_book.profiles import get_profile

profile = get_profile(PROFILE)
check_choice("COORDINATES", COORDINATES, cx.COORDINATE_SETS)
check_number("REG", REG, low=1e-3, high=10.0)
check_number("CONFIDENCE", CONFIDENCE, low=0.0, high=1.0)
check_number("SEED", SEED, low=0, integer=True)
rng = np.random.default_rng(SEED)
sns.set_theme(context="notebook", style="whitegrid")
pd.set_option("display.precision", 3)
# Sizes that depend on the profile: how many random cases the checks draw, how fine the simplex grid is.
N_CHECKS = {"smoke": 50, "cpu": 500, "gpu": 2000}[profile.name]
GRID = {"smoke": 9, "cpu": 13, "gpu": 17}[profile.name]

# %% [markdown]
# ## The classes and the cost
#
# We use AffectNet's seven basic classes, placed on the circumplex by published coordinates (chapter 01); a class
# the chosen set has no coordinate for is left out rather than placed by guess. The cost of confusing two classes is
# their valence-arousal distance. `costs.ot_cost` builds it (and checks it: square, non-negative, zero diagonal, no
# free confusion between two distinct classes), rows the predicted class, columns the true one; the matched uniform
# cost prices every confusion at the circumplex cost's mean off-diagonal value.

# %%
coords = cx.coordinates("affectnet7", COORDINATES)
classes = [c for c in coords.classes if c not in coords.missing]
if coords.missing:
    print(f"left out (no coordinate in {COORDINATES}): {list(coords.missing)}")
circumplex_cost = costs.ot_cost(classes, "va", COORDINATES)
uniform_cost = costs.ot_cost(classes, "uniform", COORDINATES)
C, U = circumplex_cost.to_numpy(), uniform_cost.to_numpy()
K = len(classes)
idx = {c: i for i, c in enumerate(classes)}
print(f"{K} classes; mean off-diagonal cost: circumplex {costs.mean_off_diagonal(C):.3f}, "
      f"uniform {costs.mean_off_diagonal(U):.3f} (every confusion at {U[0, 1]:.3f})")
circumplex_cost

# %% [markdown]
# **Aff-Wild2's "Other".** Aff-Wild2's eighth class holds the faces outside the basic emotions; it has no place on the
# circumplex. Putting it at the origin, where Neutral is, would make the Neutral-Other confusion free, and the OT
# term would *reward* confusing the two largest classes of Aff-Wild2. The book's one rule, in every OT cost
# (`costs.ot_cost`, the trainer, the study): **Other is charged the mean off-diagonal cost of the placed classes**,
# in its row and its column; and `costs.validate_cost` refuses a zero between two distinct classes.

# %%
aw_coords = cx.coordinates("affwild2", COORDINATES)
aw_classes = [c for c in aw_coords.classes if c == "Other" or c not in aw_coords.missing]
aw_cost = costs.ot_cost(aw_classes, "va", COORDINATES)
placed = [c for c in aw_classes if c != "Other"]
mean_placed = costs.mean_off_diagonal(aw_cost.loc[placed, placed].to_numpy())
assert np.allclose(aw_cost.loc["Other", placed], mean_placed) and np.allclose(aw_cost.loc[placed, "Other"],
                                                                              mean_placed)
at_origin = costs.va_distance_cost(cx.coordinates(aw_classes, COORDINATES, fill={"Other": (0.0, 0.0)}))
print(f"Other costs {mean_placed:.3f} against every class (the mean over {len(placed)} placed classes); at the "
      f"origin it would cost {at_origin[aw_classes.index('Neutral'), aw_classes.index('Other')]:.3f} against Neutral")
try:
    costs.validate_cost(at_origin, aw_classes)
except ValueError as err:
    print(f"validate_cost refuses it: {err}")

# %% [markdown]
# ## Optimal transport between two label distributions
#
# Take a prediction `p` and a target distribution `q` over the classes (say, the votes of several annotators). A
# **transport plan** `T` is a table whose row `i` says how the predicted mass `p_i` is split among the target
# classes: `T >= 0`, rows sum to `p`, columns sum to `q`. Its cost is `sum_ij T_ij C_ij`. The OT value (the
# Wasserstein distance under `C`) is the cheapest plan's cost: moving mass between near classes is cheap, between
# far classes dear. POT solves it exactly with `ot.emd` (the plan) and `ot.emd2` (the value).

# %%
p = rng.dirichlet(np.full(K, 0.8))
q = rng.dirichlet(np.full(K, 0.8))
plan = ot.emd(p, q, C)
value = ot.emd2(p, q, C)
print(f"rows sum to p: {np.allclose(plan.sum(1), p)}; columns sum to q: {np.allclose(plan.sum(0), q)}")
print(f"OT value = {value:.4f} = sum(T * C) = {(plan * C).sum():.4f}")
kept = np.trace(plan)
moved_mean_cost = (plan * C).sum() / (1 - kept)
assert np.isclose(kept, np.minimum(p, q).sum())
print(f"the diagonal (free) keeps {kept:.1%} of the mass, all it can (sum of min(p, q)); the mass that moves "
      f"pays {moved_mean_cost:.3f} per unit, against {costs.mean_off_diagonal(C):.3f} for an average confusion")
fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 2.2]})
pd.DataFrame({"prediction p": p, "target q": q}, index=classes).plot.barh(ax=axes[0])
axes[0].set(xlabel="probability", ylabel="class", title="two label distributions")
axes[0].invert_yaxis()
sns.heatmap(pd.DataFrame(plan, index=classes, columns=classes), annot=True, fmt=".3f", cmap="rocket_r",
            ax=axes[1], cbar_kws={"label": "mass moved"})
axes[1].set(xlabel="target class", ylabel="predicted class", title=f"optimal plan (ot.emd), cost {value:.3f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# The plan keeps on the diagonal (free) all the mass it can; the rest goes where it is cheapest to send, and the
# printed line compares its price with that of an average confusion.
#
# ## A hard label: the plan is forced
#
# Training labels are usually one class `y`, the target `q = e_y`. Then the column constraints say every column
# but `y` receives nothing, and column `y` receives everything: `T_iy = p_i`. There is exactly **one** feasible plan,
# so it is optimal, and
#
# $$W_C(p, e_y) = \sum_j p_j \, C[j, y],$$
#
# the *expected cost* of the prediction. No solver, no regularisation, exact; it is one gather and one dot product
# per sample. Here it is by hand and against POT on random predictions and labels:

# %%
probs = rng.dirichlet(np.full(K, 0.5), size=N_CHECKS)
labels = rng.integers(0, K, size=N_CHECKS)
by_hand = (probs * C[:, labels].T).sum(axis=1)  # sum_j p_j C[j, y] for every row
with_pot = np.array([ot.emd2(probs[i], np.eye(K)[labels[i]], C) for i in range(N_CHECKS)])
package = L.expected_cost(torch.tensor(probs), torch.tensor(labels), C, from_logits=False, reduction="none")
gap_pot = np.abs(by_hand - with_pot).max()
gap_package = np.abs(by_hand - package.numpy()).max()
assert gap_pot < 1e-12 and gap_package < 1e-12
print(f"{N_CHECKS} random cases: largest |closed form - ot.emd2| = {gap_pot:.1e}, "
      f"|closed form - losses.expected_cost| = {gap_package:.1e}")

# %% [markdown]
# ## The uniform cost is `s (1 - p(true))`
#
# With the uniform cost `s (1 - I)` every confusion costs `s`, so the expected cost is `s` times the mass off the
# true class: `W = s (1 - p_y)`, the expected 0-1 loss of the prediction, scaled. The geometry is gone; what is
# left is "how much probability is on the right class".

# %%
s = U[0, 1]
uniform_value = L.expected_cost(torch.tensor(probs), torch.tensor(labels), U, from_logits=False,
                                reduction="none").numpy()
p_true = probs[np.arange(N_CHECKS), labels]
assert np.allclose(uniform_value, s * (1 - p_true))
print(f"uniform OT term == {s:.3f} * (1 - p_true) on all {N_CHECKS} cases")

# %% [markdown]
# **What its gradient does.** With logits `z` and `p = softmax(z)`, the gradient of the expected cost is
# `dW/dz_k = p_k (C[k, y] - W)` (differentiate `sum_j p_j C[j, y]` through the softmax). For the uniform cost
# `C = s (1 - I)`, where `W = s (1 - p_y)` and `dp_y/dz_k = p_y (delta_ky - p_k)`, this is
#
# $$\frac{\partial}{\partial z} \, s (1 - p_y) = s \, p_y \, (p - e_y),$$
#
# cross-entropy's gradient `p - e_y` multiplied by `s p_y`. Added to cross-entropy at a weight `lambda`, the
# per-sample gradient of `CE + lambda W` is therefore
#
# $$(1 + \lambda s \, p_y)(p - e_y):$$
#
# cross-entropy's own gradient, reweighted per sample by `1 + lambda s p_y`. Both formulas are checked below against
# central finite differences of the losses' values (NumPy only, no autograd), at the matched scale `s` of this
# chapter and an illustrative weight `lambda = 1`:

# %%
LAMBDA = 1.0  # an illustrative weight of the OT term
z_np = rng.normal(0, 2, size=(N_CHECKS, K))
y_np = labels


def softmax_rows(zz):
    e = np.exp(zz - zz.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def uniform_term(zz):  # s (1 - p_y), per sample
    return s * (1 - softmax_rows(zz)[np.arange(len(zz)), y_np])


def ce_plus_uniform(zz):  # -log p_y + lambda s (1 - p_y), per sample
    return -np.log(softmax_rows(zz)[np.arange(len(zz)), y_np]) + LAMBDA * uniform_term(zz)


def finite_difference(f, zz, h=1e-6):
    grad = np.zeros_like(zz)
    for k in range(zz.shape[1]):
        step = np.zeros_like(zz)
        step[:, k] = h
        grad[:, k] = (f(zz + step) - f(zz - step)) / (2 * h)
    return grad


p_np = softmax_rows(z_np)
py_np = p_np[np.arange(N_CHECKS), y_np][:, None]
ce_grad_np = p_np - np.eye(K)[y_np]  # cross-entropy's gradient p - e_y
gap_ot = np.abs(finite_difference(uniform_term, z_np) - s * py_np * ce_grad_np).max()
gap_sum = np.abs(finite_difference(ce_plus_uniform, z_np) - (1 + LAMBDA * s * py_np) * ce_grad_np).max()
assert gap_ot < 1e-7 and gap_sum < 1e-7, (gap_ot, gap_sum)
print(f"{N_CHECKS} random cases, s = {s:.3f}: largest |finite difference - s p_y (p - e_y)| = {gap_ot:.1e}; "
      f"|finite difference - (1 + lambda s p_y)(p - e_y)| = {gap_sum:.1e}")
z = torch.tensor(z_np, requires_grad=True)
L.expected_cost(z, torch.tensor(y_np), costs.uniform_cost(K, match=C), reduction="sum").backward()
assert np.allclose(z.grad.numpy(), s * py_np * ce_grad_np)
print("the package's expected_cost with the matched uniform cost has the same gradient (autograd)")

# %%
grid_p = np.linspace(0.001, 0.999, 200)
Q = 0.7  # generalised cross-entropy's q, the default of losses.gce_loss
pushes = {"cross-entropy": 1 - grid_p, f"uniform OT, s (1 - p(true)), s = {s:.2f}": s * grid_p * (1 - grid_p),
          f"CE + {LAMBDA:g} x uniform OT": (1 + LAMBDA * s * grid_p) * (1 - grid_p),
          f"generalised CE, q = {Q}": grid_p ** Q * (1 - grid_p)}
frame = pd.concat([pd.DataFrame({"p(true class)": grid_p, "|d loss / d z_true|": v, "loss": k})
                   for k, v in pushes.items()])
fig, ax = plt.subplots(figsize=(7, 4))
sns.lineplot(frame, x="p(true class)", y="|d loss / d z_true|", hue="loss", ax=ax)
ax.set(title="How hard each loss pushes the true logit")
plt.show()
weight = 1 + LAMBDA * s * grid_p
print(f"CE + {LAMBDA:g} x uniform OT weighs a sample by 1 + lambda s p_y: {weight[0]:.3f} at p(true) = "
      f"{grid_p[0]:.3f}, {weight[-1]:.3f} at p(true) = {grid_p[-1]:.3f}; relative to the easiest samples, the "
      f"hardest get {weight[0] / weight[-1]:.2f} of the weight cross-entropy alone would give them")

# %% [markdown]
# Cross-entropy pushes hardest on the examples it gets most wrong. The uniform OT term alone does the opposite at that
# end: it leaves confidently wrong examples almost alone (`s p_y` is near 0) and acts on the ones the model already
# half-believes. Added to cross-entropy it keeps cross-entropy's direction and multiplies each sample's gradient by `1
# + lambda s p_y`, so hard samples, the ones most likely to carry a wrong label, are relatively **down-weighted**.
# That is the mechanism of the noise-robust losses: the uniform term is the expected 0-1 loss, `s/2` times the mean
# absolute error between `p` and `e_y`, a symmetric loss that Ghosh, Kumar & Sastry (2017, "Robust loss functions
# under label noise for deep neural networks", AAAI {footcite:p}`ghosh2017robust`) showed tolerant to label noise, and
# generalised cross-entropy (Zhang & Sabuncu 2018, NeurIPS {footcite:p}`zhang2018gce`; `losses.gce_loss`, the last
# curve) interpolates between cross-entropy and it with the same `p_y^q` reweighting.
#
# The study calls the uniform term a "generic confidence penalty". In the usual sense of that phrase (Pereyra et al.
# 2017, "Regularizing neural networks by penalizing confident output distributions", ICLR workshop
# {footcite:p}`pereyra2017confidence`; `losses.confidence_penalty_loss`) a confidence penalty subtracts `beta H(p)`
# and so pushes every prediction towards higher entropy, whatever its label. The uniform term only raises `p_y`. Where
# the true class is already the most probable one, that *sharpens* the prediction, the opposite of an entropy bonus;
# where it is not, moving mass to it can raise the entropy. The direction of each step, on random cases:

# %%
zc = torch.tensor(rng.normal(0, 2, size=(N_CHECKS, K)), requires_grad=True)
yc = torch.tensor(rng.integers(0, K, size=N_CHECKS))
pc = torch.softmax(zc, -1)
entropy = -(pc * torch.log(pc)).sum(-1)
grad_entropy = torch.autograd.grad(entropy.sum(), zc, retain_graph=True)[0]
grad_uniform = torch.autograd.grad(L.expected_cost(zc, yc, U, reduction="sum"), zc)[0]
# rate of change of the entropy along a descent step: grad H . (-grad loss); Pereyra's term -beta H descends
# along +beta grad H, so its rate is beta |grad H|^2 >= 0 for every sample
rate_uniform = (grad_entropy * -grad_uniform).sum(-1)
rate_pereyra = (grad_entropy * grad_entropy).sum(-1)
top = pc.argmax(-1) == yc
direction = pd.DataFrame({
    "cases": [int(top.sum()), int((~top).sum())],
    "uniform OT lowers entropy": [float((rate_uniform[top] < 0).double().mean()),
                                  float((rate_uniform[~top] < 0).double().mean())],
    "confidence penalty lowers entropy": [float((rate_pereyra[top] < 0).double().mean()),
                                          float((rate_pereyra[~top] < 0).double().mean())],
}, index=pd.Index(["true class most probable", "another class most probable"], name="prediction"))
assert direction.iloc[0, 1] == 1.0 and (direction["confidence penalty lowers entropy"] == 0).all()
direction

# %% [markdown]
# Where the model already ranks the true class first, every descent step on the uniform term lowers the entropy
# (first row); the confidence penalty never does. So "generic confidence penalty" is, for now, the study's
# **hypothesis** about why the uniform control does as well as the circumplex cost, not a derivation: the
# gradient says "reweighting towards easy samples, as noise-robust losses do". Chapter 07 tests it by training
# both readings as conditions: `confidence_penalty` (Pereyra et al.) and `gce` (Zhang & Sabuncu) beside the
# uniform OT term. (The entropic OT value of the Sinkhorn section, with a one-hot target, adds an explicit
# `reg * sum p log p` to the closed form: that one *is* an entropy term.)

# %% [markdown]
# ## The circumplex cost on concrete predictions
#
# An anger face, predicted with confidence `CONFIDENCE` as each class in turn (the rest spread evenly): what does
# each cost charge?

# %%
true = "Anger"
rows = []
for wrong in classes:
    if wrong == true:
        continue
    pred = np.full(K, (1 - CONFIDENCE) / (K - 1))
    pred[idx[wrong]] = CONFIDENCE
    rows.append({"predicted as": wrong, "circumplex OT": (pred * C[:, idx[true]]).sum(),
                 "uniform OT (matched)": (pred * U[:, idx[true]]).sum()})
priced = pd.DataFrame(rows).set_index("predicted as").sort_values("circumplex OT")
priced["circumplex / uniform"] = priced["circumplex OT"] / priced["uniform OT (matched)"]
priced

# %%
cheapest, dearest = priced.index[0], priced.index[-1]
assert cheapest == "Fear" and dearest == "Happy", "the text below assumes fear is cheapest and happy dearest"
ratio = priced.loc["Happy", "circumplex OT"] / priced.loc["Fear", "circumplex OT"]
print(f"anger read as fear costs {priced.loc['Fear', 'circumplex OT']:.3f}; read as happiness "
      f"{priced.loc['Happy', 'circumplex OT']:.3f}, {ratio:.1f} times more. The uniform cost charges "
      f"{priced['uniform OT (matched)'].iloc[0]:.3f} for either.")

# %% [markdown]
# The circumplex cost does what it was designed to do: mistaking anger for happiness is dear, mistaking it for fear
# nearly free. But anger and fear are the **degenerate pair** (chapter 01): nearly the same point on the circumplex.
# A cost built on that point cannot tell them apart, and the gradient shows what follows. For an anger face with a
# hesitant prediction, the circumplex term's gradient `p_k (C[k, y] - W)` is *negative* for every class cheaper than
# the current expected cost, so a gradient step *raises* those logits:

# %%
hesitant = np.full(K, 0.5 / (K - 1))
hesitant[idx[true]] = 0.5
zz = torch.tensor(np.log(hesitant), requires_grad=True)
label = torch.tensor([idx[true]])
grads = {}
for name, cost in (("circumplex", C), ("uniform (matched)", U)):
    zz.grad = None
    L.expected_cost(zz[None], label, cost).backward()
    grads[name] = zz.grad.numpy().copy()
step = pd.DataFrame({name: -g for name, g in grads.items()}, index=pd.Index(classes, name="logit"))
step.columns = [f"-gradient, {c}" for c in step.columns]
step

# %%
fear_push = step.loc["Fear", "-gradient, circumplex"]
assert fear_push > 0 and step.loc["Fear", "-gradient, uniform (matched)"] < 0
print(f"a descent step on the circumplex term raises the Fear logit (by {fear_push:.4f} per unit step) while "
      f"raising Anger by {step.loc['Anger', '-gradient, circumplex']:.4f}; the uniform term lowers Fear "
      f"({step.loc['Fear', '-gradient, uniform (matched)']:.4f})")

# %% [markdown]
# Read the first column: the circumplex term moves probability out of the far classes (happy, surprise) into the
# true class **and into fear**, because fear is cheaper than the current average. It rewards errors that land near
# the truth, which is its purpose, and by the same token it does nothing to separate anger from fear. Only a
# representation that sees a difference between the two faces can do that.
#
# ## Soft targets need a solver: Sinkhorn
#
# With label smoothing, annotator distributions or neighbouring frames, the target is no longer one-hot and the plan
# is no longer forced. Exact OT (`ot.emd2`) is a linear program per sample, solved on the CPU one problem at a time.
# **Entropic OT** {footcite:p}`cuturi2013sinkhorn` adds `reg * KL(T || p q^T)` to the plan's cost; its solution has
# the form `T_ij = p_i q_j exp((f_i + g_j - C_ij) / reg)`, and Sinkhorn's algorithm finds the potentials `f, g` by
# alternately matching rows and columns. In log space, ten lines:

# %%
def sinkhorn_by_hand(p, q, cost, reg, n_iter):
    """Log-domain Sinkhorn for one pair of distributions; returns the plan."""
    f, g = np.zeros(len(p)), np.zeros(len(q))
    log_p, log_q = np.log(p), np.log(q)
    for _ in range(n_iter):
        f = -reg * np.logaddexp.reduce(log_q[None, :] + (g[None, :] - cost) / reg, axis=1)
        g = -reg * np.logaddexp.reduce(log_p[:, None] + (f[:, None] - cost) / reg, axis=0)
    return np.exp(log_p[:, None] + log_q[None, :] + (f[:, None] + g[None, :] - cost) / reg)


smoothed = L.smooth_labels(torch.tensor([idx[true]]), K, 0.1).numpy()[0].astype(float)
smoothed /= smoothed.sum()  # exact in float64 (the float32 rows sum to 1 only within 1e-7)
pred = rng.dirichlet(np.full(K, 1.0))
mine = sinkhorn_by_hand(pred, smoothed, C, REG, 500)
with warnings.catch_warnings():  # 500 iterations on purpose, same for all three: POT would warn about stopThr=0
    warnings.simplefilter("ignore", UserWarning)
    theirs = ot.sinkhorn(pred, smoothed, C, REG, method="sinkhorn_log", numItermax=500, stopThr=0)
    theirs_value = ot.sinkhorn2(pred, smoothed, C, REG, method="sinkhorn_log", numItermax=500, stopThr=0)
package_linear = L.entropic_ot(torch.tensor(pred[None]), torch.tensor(smoothed[None]), C, reg=REG, n_iter=500,
                               value="linear", from_logits=False)
print(f"by hand vs ot.sinkhorn: largest plan difference {np.abs(mine - theirs).max():.1e}")
print(f"<T, C>: by hand {(mine * C).sum():.6f}, ot.sinkhorn2 {theirs_value:.6f}, package {float(package_linear):.6f}")

# %% [markdown]
# **The regularisation.** `reg` is in cost units. Large, the plan blurs towards the independent plan `p q^T`;
# small, it approaches the exact plan, but Sinkhorn needs more iterations (about `max(C) / reg` times more) and
# plain exponentials would underflow, which is why the iterations run in log space. The plans between the two
# distributions of the first section, for three values (same colour scale):

# %%
regs = [1.0, 0.2, REG]
fig, axes = plt.subplots(1, len(regs) + 1, figsize=(18, 4.2))
top = plan.max()
for ax, reg in zip(axes, regs):
    T = ot.sinkhorn(p, q, C, reg, method="sinkhorn_log", numItermax=20_000, stopThr=1e-9)
    sns.heatmap(pd.DataFrame(T, index=classes, columns=classes), cmap="rocket_r", vmin=0, vmax=top, cbar=False,
                ax=ax)
    ax.set(title=f"Sinkhorn, reg = {reg:g}", xlabel="target class", ylabel="predicted class")
sns.heatmap(pd.DataFrame(plan, index=classes, columns=classes), cmap="rocket_r", vmin=0, vmax=top, cbar=False,
            ax=axes[-1])
axes[-1].set(title="exact (ot.emd)", xlabel="target class", ylabel="predicted class")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Which value is the loss?** Three readings of the same plan are in use, and the package returns the one you ask
# for (`entropic_ot(value=...)`): `"linear"` is the plan's cost `<T, C>` alone (POT's `sinkhorn2`); `"kl"` adds
# `reg * KL(T || p q^T)` (POT's `ot.solve(reg_type="KL")`); `"entropy"` adds `reg * sum T log T` (POT's
# `reg_type="entropy"`). As `reg` shrinks all three approach the exact value:

# %%
exact = ot.emd2(pred, smoothed, C)
rows = []
for reg in [1.0, 0.5, 0.2, 0.1, 0.05, 0.02]:
    row = {"reg": reg}
    for value in ("linear", "kl", "entropy"):
        row[value] = float(L.entropic_ot(torch.tensor(pred[None]), torch.tensor(smoothed[None]), C, reg=reg,
                                         n_iter=2000, value=value, from_logits=False))
    row["ot.solve KL"] = ot.solve(C, pred, smoothed, reg=reg, reg_type="KL", max_iter=20000, tol=1e-12).value
    rows.append(row)
by_reg = pd.DataFrame(rows).set_index("reg")
assert np.allclose(by_reg["kl"], by_reg["ot.solve KL"], atol=1e-6)
by_reg["exact (ot.emd2)"] = exact
by_reg

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for value in ("linear", "kl", "entropy"):
    ax.plot(by_reg.index, by_reg[value], marker="o", label=f'value="{value}"')
ax.axhline(exact, color="0.3", ls="--", label="exact OT (ot.emd2)")
ax.set(xscale="log", xlabel="regularisation reg (cost units)", ylabel="OT term",
       title="Entropic OT values approach exact OT as reg shrinks")
ax.legend()
plt.show()
gap = (by_reg[["linear", "kl", "entropy"]] - exact).abs()
assert gap.iloc[-1].max() < gap.iloc[0].max()
print(f"largest gap to exact OT: {gap.iloc[0].max():.3f} at reg {by_reg.index[0]:g}, "
      f"{gap.iloc[-1].max():.4f} at reg {by_reg.index[-1]:g}")

# %% [markdown]
# With a **one-hot** target the plan is forced whatever `reg` is, so the `"kl"` value *equals* the closed form
# (the KL term is zero for the forced plan), and the `"entropy"` value is the closed form plus `reg * sum p log p`,
# that is, minus `reg` times the prediction's entropy: an explicit confidence penalty. Checked:

# %%
logits = torch.tensor(rng.normal(0, 2, size=(N_CHECKS, K)))
one_hot = torch.nn.functional.one_hot(torch.tensor(labels), K).double()
closed = L.expected_cost(logits, torch.tensor(labels), C, reduction="none")
kl_value = L.entropic_ot(logits, one_hot, C, reg=REG, value="kl", reduction="none")
entropy_value = L.entropic_ot(logits, one_hot, C, reg=REG, value="entropy", reduction="none")
plog = torch.log_softmax(logits, -1)
assert torch.allclose(kl_value, closed, atol=1e-9)
assert torch.allclose(entropy_value, closed + REG * (plog.exp() * plog).sum(-1), atol=1e-9)
print(f"one-hot targets, {N_CHECKS} cases: kl value == closed form; entropy value == closed form - "
      f"{REG} * entropy(p)")

# %% [markdown]
# In training, `losses.entropic_ot` runs a whole batch at once on the GPU (or CPU), with a fixed number of
# iterations (a convergence test would make the GPU wait for the host), and returns the `"kl"` value by default,
# whose gradient is the dual potential `f` (no backpropagation through the iterations). `benchmarks/bench_losses.py`
# times it against a loop of `ot.emd2` calls.
#
# ## The gradient on the probability simplex
#
# With three classes every prediction is a point of a triangle. Take anger, fear and happiness, an anger face, and
# follow a small gradient step on the logits for each cost: the arrows show how the prediction moves. (The step on
# the logits `-grad_z W` moves the probabilities by `-J grad_z W`, with `J = diag(p) - p p^T` the softmax Jacobian.)

# %%
trio = ["Anger", "Fear", "Happy"]
sub = [idx[c] for c in trio]
trio_costs = {"circumplex": C[np.ix_(sub, sub)], "uniform (matched)": U[np.ix_(sub, sub)]}
corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])  # Anger, Fear, Happy
points = []
for i in range(1, GRID):
    for j in range(1, GRID - i):
        k = GRID - i - j
        points.append(np.array([i, j, k], dtype=float) / GRID)
points = np.array(points)
steps = {}
for name, cost3 in trio_costs.items():
    zt = torch.tensor(np.log(points), requires_grad=True)
    L.expected_cost(zt, torch.zeros(len(points), dtype=torch.long), cost3, reduction="sum").backward()
    g = zt.grad.numpy()
    steps[name] = -(points * g - points * (points * g).sum(1, keepdims=True))  # -J grad, in probabilities
longest = max(np.linalg.norm(st @ corners, axis=1).max() for st in steps.values())
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
for ax, (name, st) in zip(axes, steps.items()):
    xy, dxy = points @ corners, st @ corners
    ax.quiver(xy[:, 0], xy[:, 1], dxy[:, 0], dxy[:, 1], np.linalg.norm(dxy, axis=1), cmap="viridis",
              angles="xy", scale_units="xy", scale=longest / (0.6 / GRID), clim=(0, longest))
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="0.3")
    for (cx_, cy_), label_ in zip(corners, trio):
        ax.annotate(label_, (cx_, cy_), textcoords="offset points", xytext=(0, -14 if cy_ == 0 else 6),
                    ha="center")
    ax.set(title=f"{name} cost, true class Anger (same arrow scale)", aspect="equal", xticks=[], yticks=[])
    ax.set_xlabel("probability simplex (corner = all mass on that class)")
plt.tight_layout()
plt.show()

# %%
edge = np.array([0.3, 0.6, 0.1])  # mostly fear, some anger
moves = {}
for name, cost3 in trio_costs.items():
    zt = torch.tensor(np.log(edge[None]), requires_grad=True)
    L.expected_cost(zt, torch.zeros(1, dtype=torch.long), cost3).backward()
    g = zt.grad.numpy()[0]
    moves[name] = -(edge * g - edge * (edge * g).sum())
moves = pd.DataFrame(moves, index=pd.Index(trio, name="probability change")).T
ratio_anger = moves.loc["uniform (matched)", "Anger"] / moves.loc["circumplex", "Anger"]
assert ratio_anger > 1 and moves.loc["uniform (matched)", "Fear"] < 0
assert moves.loc["circumplex"].idxmin() == "Happy" and moves.loc["circumplex", "Fear"] > 0
print(f"at p = (anger {edge[0]}, fear {edge[1]}, happy {edge[2]}), the uniform step raises p(anger) "
      f"{ratio_anger:.1f} times more than the circumplex step")
moves

# %% [markdown]
# On the left, near the anger-fear edge, the circumplex arrows are short and mostly drain *happiness*: mass on fear
# is nearly free, so the term has little reason to move it to anger (at the point in the table, p(fear) even
# grows). On the right the uniform cost pulls every
# point towards the anger corner, fear included. The table reads the same from one point: the step raises p(anger)
# by the factor printed above more under the uniform cost. The figure is the study's finding in miniature: a cost
# can only say where errors should land; it cannot separate classes that the cost itself treats as one.
#
# ## The controls the OT term is compared with
#
# The study also tries frequency-based remedies for the rare classes. The package has each one
# (`losses.inverse_frequency_weights`, `class_balanced_weights` {footcite:p}`cui2019classbalanced`, `focal_loss`
# {footcite:p}`lin2017focal`, `ldam_margins`/`ldam_loss` {footcite:p}`cao2019ldam`,
# `logit_adjusted_loss`/`logit_adjust` {footcite:p}`menon2021logit`, `balanced_softmax_loss`
# {footcite:p}`ren2020balanced`, `smooth_labels`, `confidence_penalty_loss`, `sampling_weights`), each tested on a
# hand-computed case, and the trainer names each in one table, `losses.EXPRESSION_LOSSES`, beside the two readings of
# the uniform term above (`confidence_penalty`, `gce`). Their per-class numbers, computed from the published
# AffectNet-8 training counts (Mollahosseini, Hasani & Mahoor 2017 {footcite:p}`mollahosseini2017affectnet`, read from
# `affect_book.data.published`):

# %%
affectnet_counts = published_counts("affectnet-train")
controls = pd.DataFrame({
    "train count": affectnet_counts,
    "inverse frequency weight": L.inverse_frequency_weights(affectnet_counts.to_numpy()),
    "class-balanced weight (beta 0.9999)": L.class_balanced_weights(affectnet_counts.to_numpy(), 0.9999),
    "LDAM margin (max 0.5)": L.ldam_margins(affectnet_counts.to_numpy(), 0.5),
    "logit adjustment, -log prior": -np.log(affectnet_counts / affectnet_counts.sum()),
})
controls

# %%
print(f"Happy/Contempt count ratio: {affectnet_counts['Happy'] / affectnet_counts['Contempt']:.1f}; "
      f"inverse-frequency weight ratio Contempt/Happy: "
      f"{controls.loc['Contempt', 'inverse frequency weight'] / controls.loc['Happy', 'inverse frequency weight']:.1f}")

# %% [markdown]
# The class-balanced weights depend on the **absolute** counts, through `beta^n_c`: once every class has many more
# than `1 / (1 - beta)` samples, all the weights are nearly equal. The largest-to-smallest weight ratio at the
# trainer's default beta (Cui et al. 2019 {footcite:p}`cui2019classbalanced` recommend 0.9999 for counts like these)
# and at 0.999:

# %%
default_beta = L.EXPRESSION_LOSSES["class_balanced"].default
ratios = {}
for key in ("affectnet-train", "s-affwild2-train"):
    n = published_counts(key).to_numpy()
    ratios[key] = {f"beta {beta:g}": (lambda w: w.max() / w.min())(L.class_balanced_weights(n, beta))
                   for beta in (default_beta, 0.999)}
weight_ratios = pd.DataFrame(ratios).T
weight_ratios.index.name = "published training counts"
assert (weight_ratios[f"beta {default_beta:g}"] > weight_ratios["beta 0.999"]).all()
weight_ratios

# %% [markdown]
# Every one of these acts on **frequency**: it gives rare classes more weight, a larger margin or a prior
# correction. None of them knows that anger and contempt, or anger and fear, look alike. Whether frequency or
# geometry limits the rare classes is a question for trained models; the chapters that train them compare these
# controls with the OT terms on the same data.

# %% [markdown]
# ## Move the prediction yourself
#
# The gradient figure above shows every point of the triangle at once; this one follows a single prediction. For an
# anger face and the prediction `p` in the cell, it draws the step each cost's gradient takes from `p` (arrows,
# drawn relative to the longest) and each cost's OT term `W`; the table gives `W`, its gradient on the logits
# `p_k (C[k, y] - W)` and the step in probabilities. In JupyterLab (or any live notebook front end) sliders for
# `p(anger)` and `p(fear)` and a menu for the true class appear under it (`affect_book.site.widgets`).

# %%
from affect_book.site.widgets import draw_ot_simplex, interactive_ot_simplex, live_front_end

simplex_fig, simplex_terms = draw_ot_simplex(edge, trio_costs, trio, true_class=0)
plt.show()
assert np.isclose(simplex_terms.loc["circumplex", "W"],
                  float(L.expected_cost(torch.tensor(np.log(edge)[None]), torch.tensor([0]), trio_costs["circumplex"])))
display(simplex_terms)
if live_front_end():
    display(interactive_ot_simplex(trio_costs, trio, true_class=0, start=tuple(edge[:2])))

# %% [markdown]
# ## Summary
#
# - OT between label distributions prices moving probability mass by a ground cost; POT solves it exactly.
# - For a one-hot label the plan is forced and the OT term is the expected cost `sum_j p_j C[j, y]`: exact, one
#   line, checked above against `ot.emd2` on random cases.
# - Aff-Wild2's Other has no place on the circumplex: every OT cost charges it the mean cost of the placed
#   classes, never 0, and `costs.validate_cost` refuses a free confusion between two distinct classes.
# - The uniform cost `s (1 - I)` reduces it to `s (1 - p(true))`, whose gradient is cross-entropy's scaled by
#   `s p(true)`; added to cross-entropy it reweights each sample by `1 + lambda s p(true)`, down-weighting hard
#   samples as noise-robust losses do (checked against finite differences). Reading it as a "generic confidence
#   penalty" is a hypothesis the study chapter tests, with the confidence penalty and generalised cross-entropy as
#   conditions.
# - The circumplex cost charges little for confusing neighbours: for anger, fear is the cheapest error, and a
#   gradient step even raises the fear logit. It shapes where errors land; it cannot separate a degenerate pair.
# - Soft targets need Sinkhorn; its regularisation blurs the plan, and which value (linear, KL, entropy) is the
#   loss must be stated. With a one-hot target the KL value is the closed form, the entropy value adds an explicit
#   confidence penalty.
#
# ## Exercises
#
# Try each exercise before opening its solution. *Predict* exercises ask you to write your prediction down first.

# %% [markdown] tags=["exercise", "predict"]
# **1.** In chapter 01 (exercise 4), adding dominance stretched the anger-fear distance more, relative to its
# valence-arousal distance, than that of any other pair. Predict: with the valence-arousal-dominance cost
# (`costs.ot_cost(classes, "vad")`), is fear still the cheapest error for an anger face predicted with confidence
# `CONFIDENCE` as each class in turn? Which class becomes the cheapest? Then run the cell.

# %% tags=["solution"] jupyter={"source_hidden": true}
if COORDINATES == "russell1977":
    vad = costs.ot_cost(classes, "vad", COORDINATES).to_numpy()
    rows = []
    for wrong in classes:
        if wrong != true:
            pred_ = np.full(K, (1 - CONFIDENCE) / (K - 1))
            pred_[idx[wrong]] = CONFIDENCE
            rows.append({"predicted as": wrong, "VA": (pred_ * C[:, idx[true]]).sum(),
                         "VAD": (pred_ * vad[:, idx[true]]).sum()})
    vad_table = pd.DataFrame(rows).set_index("predicted as").sort_values("VAD")
    print(f"cheapest error: VA {vad_table['VA'].idxmin()}, VAD {vad_table['VAD'].idxmin()}")
    print(vad_table.round(3).to_string())
else:
    print("the 1980 coordinates have no dominance axis; rerun with COORDINATES='russell1977'")

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** Two training faces of the same class: the model gives one `p_y = 0.05` (perhaps a wrong label), the other
# `p_y = 0.8`. Under `CE + lambda * uniform OT`, which of the two gains weight relative to cross-entropy alone, and
# why does that help when labels are noisy? Could a larger learning rate with plain cross-entropy do the same?

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Answer.* The gradient is cross-entropy's times `1 + lambda s p_y`, so the face with `p_y = 0.8` gets the larger
# factor and the one with `p_y = 0.05` stays close to cross-entropy's weight: *relative* to each other, the hard face
# is down-weighted. A face the model confidently rejects is disproportionately often a wrong label, and cross-entropy
# pushes hardest exactly on it; the reweighting limits how much such faces steer the model, the mechanism of symmetric
# and generalised cross-entropy losses {footcite:p}`ghosh2017robust,zhang2018gce`. A larger learning rate scales every
# sample's gradient by the same factor, so it cannot change their *relative* weights; the uniform term's factor
# depends on each sample's own `p_y`. (Note what it does not do: it gives no extra weight to any class, rare or not,
# and it knows nothing of the circumplex.)

# %% [markdown] tags=["exercise", "computational"]
# **3.** Show that for any cost, adding a constant `c` to every off-diagonal entry adds `c (1 - p_y)` to the
# closed-form OT term, so a cost is "a uniform cost plus geometry". Check it numerically, then split the circumplex
# cost this way: which part of it is uniform, and how large is the anger-fear entry of the remaining geometry?

# %% tags=["solution"] jupyter={"source_hidden": true}
c_shift = 0.7
shifted = C + c_shift * (1 - np.eye(K))
lhs = L.expected_cost(torch.tensor(probs), torch.tensor(labels), shifted, from_logits=False, reduction="none")
rhs = L.expected_cost(torch.tensor(probs), torch.tensor(labels), C, from_logits=False, reduction="none") \
    + c_shift * (1 - torch.tensor(p_true))
print("W_{C + c(1-I)} == W_C + c (1 - p_y):", torch.allclose(lhs, rhs))
floor = C[~np.eye(K, dtype=bool)].min()  # the largest uniform part that keeps the rest non-negative
geometry = C - floor * (1 - np.eye(K))
print(f"circumplex cost = {floor:.3f} (1 - I) + geometry; geometry's anger-fear entry "
      f"{geometry[idx['Anger'], idx['Fear']]:.3f}, its mean off-diagonal {costs.mean_off_diagonal(geometry):.3f}")

# %% [markdown] tags=["exercise", "computational"]
# **4.** For the hesitant anger prediction of the gradient section, the circumplex term's gradient is
# `p_k (C[k, y] - W)`. Compute it by hand for every class, check it against autograd, and list the classes whose
# logit a descent step *raises*. Which rule predicts that list without any gradient?

# %% tags=["solution"] jupyter={"source_hidden": true}
y_anger = idx[true]
W_hesitant = (hesitant * C[:, y_anger]).sum()
grad_by_hand = hesitant * (C[:, y_anger] - W_hesitant)
assert np.allclose(grad_by_hand, grads["circumplex"])
raised = [c for c, g in zip(classes, grad_by_hand) if g < 0]
cheaper = [c for c in classes if C[idx[c], y_anger] < W_hesitant]
print(f"W = {W_hesitant:.3f}; by hand == autograd: True (asserted)")
print(f"logits a descent step raises: {raised}")
print(f"classes whose cost to Anger is below W: {cheaper}; same list: {raised == cheaper}")

# %% [markdown] tags=["exercise", "computational"]
# **5.** Sinkhorn with `reg` 10 times smaller than `REG`: how many iterations does the package's `entropic_ot` need
# before its linear value is within 1e-4 of `ot.sinkhorn2` (converged) for the smoothed anger target above? Compare
# with the rule of thumb that the iterations grow like `max(C) / reg`.

# %% tags=["solution"] jupyter={"source_hidden": true}
small = REG / 10
reference = ot.sinkhorn2(pred, smoothed, C, small, method="sinkhorn_log", numItermax=50_000, stopThr=1e-12)
needed = None
for n_iter in [10, 100, 1000, 3000, 10_000, 30_000]:  # max(C)/reg is above the scaling method's limit: log
    got = float(L.entropic_ot(torch.tensor(pred[None]), torch.tensor(smoothed[None]), C, reg=small, n_iter=n_iter,
                              value="linear", from_logits=False, method="log"))
    print(f"{n_iter:6d} iterations: |value - converged| = {abs(got - reference):.2e}")
    if abs(got - reference) < 1e-4:
        needed = n_iter
        break
print(f"first count within 1e-4: {needed or 'more than 30000'}; max(C) / reg = {C.max() / small:.0f}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# The error falls fast at first, then sits on a plateau for thousands of iterations before it drops again (the
# printed counts): at small `reg` the marginals are matched slowly, far more slowly than `max(C) / reg` suggests for
# this pair of distributions. That is one reason training runs a fixed, moderate number of iterations at a moderate
# `reg`, and why the chapter says which value and which `reg` a loss uses: a Sinkhorn value that has not converged
# is a different loss, not a noisier estimate of the same one.

# %% [markdown] tags=["exercise", "open-ended"]
# **6.** Between the circumplex cost and the uniform control lies a family `(1 - a) C + a U`. Explore it: for a few
# values of `a`, how much does the anger-fear confusion cost relative to an average one, and does a descent step on
# the hesitant anger prediction still raise the fear logit? Would you expect any member of the family to *separate*
# anger from fear in a trained model, and what experiment would tell?

# %% tags=["solution"] jupyter={"source_hidden": true}
family = []
for a in (0.0, 0.25, 0.5, 0.75, 1.0):
    mixed = (1 - a) * C + a * U
    zz_mix = torch.tensor(np.log(hesitant), requires_grad=True)
    L.expected_cost(zz_mix[None], label, mixed).backward()
    family.append({"a": a, "anger-fear / mean": mixed[idx["Anger"], idx["Fear"]] / costs.mean_off_diagonal(mixed),
                   "step on the Fear logit": -float(zz_mix.grad[idx["Fear"]])})
pd.DataFrame(family).set_index("a")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Discussion.* Since `U` and `C` have the same mean, every member has that mean too; moving `a` from 0 to 1 raises
# the anger-fear price towards the average and, somewhere along the way, flips the step on the fear logit from a
# raise to a cut (the table shows where). That changes where the loss *pushes* probability, not what the network can
# *see*: no member adds information that tells an anger face from a fear face. A fair test trains the family's
# members (with cross-entropy, same seeds) on data where the pair is visually distinct and on data where it is not
# (chapter 03's visual-degeneracy knob), and compares the pair's confusion; the study's claim predicts that no `a`
# helps in the second case.

# %% [markdown]
# ## Where to go next
#
# The OT terms are now losses you can add to any classifier: `losses.OTLoss(cost)` takes integer labels (closed
# form) or target distributions (Sinkhorn). The training chapters put them, the uniform control and the
# frequency-based controls side by side on the same data and seeds.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
