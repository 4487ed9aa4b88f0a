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
# # 05 · One network, three tasks: the multi-task model and its scores
#
# Aff-Wild2's multi-task challenge (ABAW) {footcite:p}`kollias2019expression,kollias2022abaw` asks one network for
# three readings of a face: the **expression** class (eight classes, "Other" included), the **valence and arousal**
# (two numbers in [-1, 1]) and twelve **action units** (AUs, on or off). The study this book follows
# {footcite:p}`study2026circumplex` trains such a network and scores it the ABAW way. This chapter builds it and takes
# its scores apart.
#
# **You will learn** how the network is put together (a backbone and three heads) and how many parameters each part
# has; the concordance correlation coefficient (CCC) and why it, not the mean squared error, scores valence and
# arousal; the population-moment convention of the CCC and what getting it wrong does on a small sample; the ABAW
# score `P_MTL = P_VA + P_EXPR + P_AU`; how partial labels are masked; and what a first training run on the
# simulator's Aff-Wild2-like data gives **per class**, with the rare classes named by a rule.
# **Time:** under a minute in the `smoke` profile; in `cpu`, one training run of a few minutes on a 2-core CPU
# (the run prints its own measured time and throughput; loaded from the cache afterwards); a GPU is not needed.

# %% tags=["parameters"]
PROFILE = "cpu"
PRESET = "affwild2"  # simulator preset: Aff-Wild2-like classes, frequencies and partial labels
SEED = 0
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # None: the profile's (2 in smoke, so that there is something to select from)
WIDTH = None  # channels of the small CNN's first block; None: the profile's (8 smoke, 16 cpu, 32 gpu)
RARE_FRACTION = 0.5  # a class is rare when its training share is below RARE_FRACTION / (number of classes)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from sklearn.metrics import f1_score

from affect_book import circumplex as cx
from affect_book import degeneracy
from affect_book import imbalance as im
from affect_book import losses as L
from affect_book import metrics
from affect_book.data import simulator
from affect_book.data.sources import load_splits
from affect_book.models import build_model
from affect_book.params import check_choice, check_number
from affect_book.trainer import TrainConfig, check_run_parameters, multitask_loss, train

profile, epochs, width = check_run_parameters(PROFILE, SEED, DEVICE, EPOCHS, WIDTH)  # None: the profile's
check_choice("PRESET", PRESET, simulator.PRESETS)
check_number("RARE_FRACTION", RARE_FRACTION, low=0.01, high=1.0)
rng = np.random.default_rng(SEED)
sns.set_theme(context="notebook", style="whitegrid")
pd.set_option("display.precision", 3)
print(f"profile {profile.name}: {epochs} epochs, width {width}, batch {profile.batch_size}, "
      f"{profile.image_size} px")

# %% [markdown]
# ## The data: Aff-Wild2-like faces with partial labels
#
# The simulator (chapter 03) draws faces for the eight Aff-Wild2 classes with Aff-Wild2's class frequencies. Like
# the ABAW multi-task file, not every row carries every label: some rows have no expression label (stored as `-1`),
# and some no AU labels (`-1` in each AU column); valence-arousal missing would be `NaN`. Here are the counts, per
# split and task, beside the fractions the preset copies from the MTL file.

# %%
splits = load_splits("synthetic", profile=profile.name, preset=PRESET, progress=False)
train_set, val_set, test_set = splits["train"], splits["val"], splits["test"]
classes = list(train_set.classes)
rows = []
for name, ds in splits.items():
    rows.append({"split": name, "rows": len(ds), "expression": int(ds.has_expression.sum()),
                 "valence-arousal": int(ds.has_va.sum()), "action units": int(ds.has_au.sum())})
labels_table = pd.DataFrame(rows).set_index("split").astype(float)
expected = simulator.PRESETS[PRESET]["label_fractions"]
labels_table.loc["MTL-file fraction"] = [np.nan, *expected]
print(f"{len(classes)} classes: {classes}")
labels_table

# %%
train_rows = labels_table.loc["train"]
missing = {task: int(train_rows["rows"] - train_rows[task]) for task in ("expression", "valence-arousal",
                                                                         "action units")}
for task, frac in zip(("expression", "valence-arousal", "action units"), expected):
    print(f"train: {missing[task]} of {int(train_rows['rows'])} rows without {task} labels "
          f"({missing[task] / train_rows['rows']:.1%}; the preset asks for {1 - frac:.1%})")

# %% [markdown]
# ## The network: a backbone and three heads
#
# A **backbone** turns an image into a feature vector; three linear **heads** read it: the expression head gives
# one logit per class, the valence-arousal head two numbers squashed by `tanh` into [-1, 1], the AU head one logit
# per AU. On a CPU the backbone is a small CNN (four convolution-normalisation-ReLU-pooling blocks, then a global
# average); on a GPU a torchvision network (ResNet-18 and others, weights from a local file only) takes its place
# through the same `build_model`. Images enter as `uint8`; the network scales and normalises them itself.

# %%
torch.manual_seed(0)  # the untrained network's weights, so the losses printed below are the same on every run
model = build_model("small_cnn", len(classes), width=width)
print(model)
x = torch.from_numpy(train_set.images[:4].transpose(0, 3, 1, 2).copy())
with torch.no_grad():
    out = model(x)
print({k: tuple(v.shape) for k, v in out.items()})

# %% [markdown]
# The parameters, part by part, and a count by hand: a 3x3 convolution without bias from `c_in` to `c_out`
# channels has `9 c_in c_out` weights and its BatchNorm `2 c_out`; a linear head from `F` features to `k` outputs
# has `(F + 1) k`.

# %%
def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


parts = {"backbone": model.backbone, "expression head": model.expression,
         "valence-arousal head": model.valence_arousal, "AU head": model.action_units}
param_table = pd.DataFrame({"parameters": {k: count(m) for k, m in parts.items()}})
param_table.loc["total"] = count(model)
channels = [3, width, 2 * width, 4 * width, 8 * width]
by_hand_backbone = sum(9 * a * b + 2 * b for a, b in zip(channels[:-1], channels[1:]))
F_dim = channels[-1]
by_hand_heads = (F_dim + 1) * (len(classes) + 2 + model.n_aus)
assert by_hand_backbone == count(model.backbone) and by_hand_backbone + by_hand_heads == count(model)
print(f"by hand: backbone {by_hand_backbone:,}, heads {by_hand_heads:,}: matches the module count "
      f"({count(model):,}); features F = {F_dim}")
param_table

# %% [markdown]
# The torchvision backbones the trainer accepts, counted the same way (built without weights; nothing downloads):

# %%
sizes = {name: count(build_model(name, len(classes))) for name in ("small_cnn", "mobilenet_v3_small", "resnet18")}
pd.DataFrame({"parameters (millions)": {k: v / 1e6 for k, v in sizes.items()}})

# %% [markdown]
# ## Scoring valence and arousal: the concordance correlation coefficient
#
# ABAW scores valence and arousal by Lin's CCC {footcite:p}`lin1989ccc`:
#
# $$\mathrm{CCC}(x, y) = \frac{2 s_{xy}}{s_x^2 + s_y^2 + (\bar x - \bar y)^2},$$
#
# with population moments (divide by `n`). It is 1 only when the prediction equals the truth, 0 for a prediction
# unrelated to it, and it penalises both a shift and a wrong scale. By hand, against the package's metric, its
# torch loss version and Pearson's correlation (`CCC = 2 rho s_x s_y / (s_x^2 + s_y^2 + (x_bar - y_bar)^2)`):

# %%
def ccc_by_hand(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    sxy = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * sxy / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


valence = test_set.va[test_set.has_va, 0].astype(float)
noisy = 0.8 * valence + 0.1 + rng.normal(0, 0.2, valence.shape)
rho = np.corrcoef(noisy, valence)[0, 1]
via_pearson = 2 * rho * noisy.std() * valence.std() / (noisy.var() + valence.var()
                                                          + (noisy.mean() - valence.mean()) ** 2)
values = [ccc_by_hand(noisy, valence), metrics.ccc(valence, noisy), via_pearson,
          float(L.ccc(torch.tensor(noisy), torch.tensor(valence)))]
assert np.allclose(values, values[0])
print(f"CCC of a noisy, shifted prediction: by hand {values[0]:.4f}, metrics.ccc {values[1]:.4f}, "
      f"via Pearson {values[2]:.4f}, losses.ccc {values[3]:.4f}")

# %% [markdown]
# ### Why not the mean squared error?
#
# A network trained on MSE can score well by predicting values close to the mean: a timid prediction is rarely far
# off. Three predictions of the test valences: the constant mean, a prediction shrunk to a tenth of the truth's
# spread around the mean, and one on the truth's scale with noise as large as the truth's own spread:

# %%
spread = valence.std()
candidates = {
    "constant (the mean)": np.full_like(valence, valence.mean()),
    "shrunk (0.1 x truth)": valence.mean() + 0.1 * (valence - valence.mean()) + rng.normal(0, 0.1 * spread,
                                                                                          valence.shape),
    "right scale, noisy": valence + rng.normal(0, spread, valence.shape),
}
va_table = pd.DataFrame({name: {"MSE": np.mean((p - valence) ** 2), "CCC": metrics.ccc(valence, p),
                                "Pearson r": np.corrcoef(p, valence)[0, 1] if p.std() > 0 else np.nan}
                         for name, p in candidates.items()}).T
shrunk, right = va_table.loc["shrunk (0.1 x truth)"], va_table.loc["right scale, noisy"]
assert abs(va_table.loc["constant (the mean)", "CCC"]) < 1e-9
assert shrunk["MSE"] < right["MSE"] and shrunk["CCC"] < right["CCC"]
print(f"the shrunk prediction has the lower MSE ({shrunk['MSE']:.3f} < {right['MSE']:.3f}) but the lower CCC "
      f"({shrunk['CCC']:.3f} < {right['CCC']:.3f}); the constant one scores CCC "
      f"{va_table.loc['constant (the mean)', 'CCC']:.3f}")
va_table

# %% [markdown]
# MSE prefers the timid prediction; CCC prefers the one that follows the truth on its own scale. That is why the
# trainer's valence-arousal loss is `1 - CCC` (mean over valence and arousal; `losses.ccc_loss`), the quantity the
# challenge scores, and not MSE; valence-arousal estimators in the wild train on CCC for the same reason
# {footcite:p}`toisoul2021emonet`.
#
# ### The population-moment pitfall
#
# The formula divides by `n` (population moments, `ddof=0`). A sample covariance and variances (`ddof=1`) leave the
# mean-difference term untouched but scale the others by `n / (n - 1)`, so the result moves, the more so the larger
# the prediction's shift and the smaller `n`. Here on a prediction shifted by 0.3 (a biased model):

# %%
def ccc_ddof(x, y, ddof):
    sxy = np.cov(x, y, ddof=ddof)[0, 1]
    return 2 * sxy / (np.var(x, ddof=ddof) + np.var(y, ddof=ddof) + (x.mean() - y.mean()) ** 2)


pitfall = []
for n in (5, 50, len(valence)):
    idx = rng.choice(len(valence), size=n, replace=False)
    x, y = noisy[idx] + 0.3, valence[idx]
    pitfall.append({"n": n, "ddof=0 (official)": ccc_ddof(x, y, 0), "ddof=1": ccc_ddof(x, y, 1),
                    "metrics.ccc": metrics.ccc(y, x)})
pitfall = pd.DataFrame(pitfall).set_index("n")
pitfall["difference"] = pitfall["ddof=1"] - pitfall["ddof=0 (official)"]
assert np.allclose(pitfall["metrics.ccc"], pitfall["ddof=0 (official)"])
assert abs(pitfall["difference"].iloc[0]) > 10 * abs(pitfall["difference"].iloc[-1])
print(f"n = 5: ddof=1 moves the CCC by {pitfall['difference'].iloc[0]:+.4f}; n = {len(valence)}: by "
      f"{pitfall['difference'].iloc[-1]:+.5f}")
pitfall

# %% [markdown]
# ## The ABAW score: P_MTL = P_VA + P_EXPR + P_AU
#
# - `P_VA`: the mean of the valence and arousal CCCs;
# - `P_EXPR`: macro-F1 over **all** eight classes ("Other" included; a class never predicted scores 0), so each
#   rare class weighs as much as Neutral;
# - `P_AU`: the mean over the twelve AUs of the binary F1 at threshold 0.5.
#
# Each task is scored on its labelled rows only. `P_MTL` ranges over [-1, 3]. The trainer selects its best epoch on
# the validation `P_MTL`. A set without AU labels (AffectNet {footcite:p}`mollahosseini2017affectnet`) has no `P_AU`:
# its score is `P_VA + P_EXPR` (range [-1, 2]), and `metrics.mtl_score` names the terms it summed (`p_mtl_terms`), so
# a table never passes that sum off as the three-term score. A term that is NaN (a head that predicts NaN) makes
# `P_MTL` NaN, never a silent 0.
#
# `P_EXPR` follows ABAW: the mean over **all** classes of the set. scikit-learn's `f1_score(..., average="macro")`
# averages only the classes that occur in the labels or the predictions unless `labels=` lists them all, so the two
# differ on a split where a class is absent and never predicted; here on a toy split of four classes, the last one
# absent:

# %%
toy_true, toy_pred = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
toy = {"metrics.expression_f1 (ABAW, 4 classes)": metrics.expression_f1(toy_true, toy_pred, n_classes=4),
       "sklearn average='macro', labels=range(4)": f1_score(toy_true, toy_pred, labels=range(4), average="macro",
                                                            zero_division=0),
       "sklearn average='macro' (classes present)": f1_score(toy_true, toy_pred, average="macro")}
assert np.isclose(toy["metrics.expression_f1 (ABAW, 4 classes)"], toy["sklearn average='macro', labels=range(4)"])
pd.Series(toy, name="macro-F1")

# %% [markdown]
# Metrics take the truth first, `metrics.f(y_true, y_pred, *, options)`, as scikit-learn's do: chapter 03's
# `sklearn.metrics.confusion_matrix(y, pred)` and this chapter's `metrics.confusion_matrix(y, pred, n_classes=...)`
# read the same way (rows are the true classes).
#
# ## Masks: each loss term on its own labelled rows
#
# The multi-task loss adds an expression term, `1 - CCC` and an AU binary cross-entropy, each averaged over the
# entries that carry a label. A batch mixing labelled and unlabelled rows gives the same expression term as the
# labelled rows alone, checked here on a training batch:

# %%
batch_rows = np.arange(profile.batch_size)
batch = {"expression": torch.from_numpy(train_set.expression[batch_rows]),
         "va": torch.from_numpy(train_set.va[batch_rows]), "au": torch.from_numpy(train_set.au[batch_rows])}
with torch.no_grad():
    out = model(torch.from_numpy(train_set.images[batch_rows].transpose(0, 3, 1, 2).copy()))
config_probe = TrainConfig(classes=tuple(classes))
_, terms = multitask_loss(out, batch, config_probe, None)
keep = batch["expression"] >= 0
labelled_only = torch.nn.functional.cross_entropy(out["logits"][keep], batch["expression"][keep])
au_keep = batch["au"] >= 0
au_only = torch.nn.functional.binary_cross_entropy_with_logits(out["au_logits"][au_keep],
                                                                batch["au"][au_keep].float())
assert torch.allclose(terms["expression"], labelled_only) and torch.allclose(terms["au"], au_only)
print(f"batch of {len(batch_rows)}: {int(keep.sum())} expression labels, {int(au_keep.all(1).sum())} rows with "
      f"AU labels; masked terms equal the labelled-only ones (expression {float(terms['expression']):.4f}, "
      f"AU {float(terms['au']):.4f})")

# %% [markdown]
# ## A first training run
#
# The base model: plain cross-entropy for the expression, no optimal-transport term (`lambda_ot=0`), `1 - CCC` and
# the AU term at weight 1. `train` is load-or-train: a run with the same configuration hash is loaded from the cache
# (`$AFFECT_BOOK_CACHE`, chapter 06 opens the trainer). Had we used an OT cost (chapter 04), the classes Russell's
# coordinates lack would follow the book's rules: **contempt** (AffectNet) is placed by hand
# (`circumplex.DEFAULT_PLACEMENT`, contempt at the anger-disgust midpoint), and **Other** (Aff-Wild2) has no
# coordinate at all: in the OT cost it is charged the mean off-diagonal cost of the placed classes, in its row and
# its column, never 0 (a zero would reward confusing Other with Neutral, the two largest classes), and it is left
# out of every degeneracy measure. For this preset's classes, computed by hand from the placed classes:

# %%
placed = cx.coordinates(classes, placement=cx.DEFAULT_PLACEMENT)
print(f"no coordinate: {list(placed.missing) or 'none'}; placed by hand ({cx.DEFAULT_PLACEMENT}): "
      f"{list(placed.filled) or 'none'}")
points = placed.placed_only().va
va_distance = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
off_diagonal = va_distance[~np.eye(len(points), dtype=bool)]
print(f"mean off-diagonal valence-arousal cost of the {len(points)} placed classes: {off_diagonal.mean():.3f} "
      f"(what {list(placed.missing) or 'no class'} would be charged per confusion); cheapest placed pair "
      f"{off_diagonal.min():.3f}")

# %%
config = TrainConfig(classes=tuple(classes), data=(("preset", PRESET),), epochs=epochs,
                     batch_size=profile.batch_size, width=width, profile=profile.name, device=DEVICE, seed=SEED,
                     lambda_ot=0.0)
started = time.perf_counter()
result = train(config, train_set, val_set, test_set)
wall = time.perf_counter() - started
print(f"run {result.config_hash} ({'loaded from the cache' if result.loaded_from_cache else 'trained'} in "
      f"{wall:.1f} s); best epoch {result.best_epoch} of {epochs}")
print(f"measured when trained: {result.images_per_second:.0f} training images per second, so the {epochs} "
      f"epochs of {len(train_set)} images took about {epochs * len(train_set) / result.images_per_second:.0f} s "
      f"of training steps (validation not included)")
scores = pd.Series(result.test_metrics)
terms = scores["p_mtl_terms"].split(" + ")
assert np.isclose(scores["p_mtl"], sum(scores[t.lower()] for t in terms))
print(f"test: {' + '.join(f'{t} {scores[t.lower()]:.3f}' for t in terms)} = P_MTL {scores['p_mtl']:.3f} "
      f"(P_MTL = {scores['p_mtl_terms']})")

# %% [markdown]
# ## Per class: which classes fail?
#
# Macro-F1 hides which classes carry it. The per-class report of the test predictions (recomputed here from the saved
# predictions, and checked against the trainer's `P_EXPR`), with the rare classes named by chapter 02's rule: a
# class is rare when its training share is below `RARE_FRACTION` of a uniform share.

# %%
pred = result.predictions()
report = metrics.per_class_report(pred["expression"], pred["logits"].argmax(1), classes=classes)
assert np.isclose(report["f1"].mean(), scores["p_expr"])
counts = pd.Series(np.bincount(train_set.expression[train_set.has_expression], minlength=len(classes)),
                   index=classes)
rare = im.rare_classes(counts.to_numpy(), classes, fraction=RARE_FRACTION)
report["train share"] = counts / counts.sum()
report["rare"] = report.index.isin(rare)
n_low = len(rare) if rare else 2
lowest = list(report["f1"].sort_values(kind="stable").index[:n_low])
print(f"rare by the rule (share < {RARE_FRACTION} / {len(classes)} = {RARE_FRACTION / len(classes):.1%}): {rare}")
print(f"the {n_low} lowest test F1: {lowest}; rare among them: {sorted(set(rare) & set(lowest))}")
report

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 5))
order = report.sort_values("f1").index
sns.barplot(x=report.loc[order, "f1"], y=list(order), hue=report.loc[order, "rare"].map({True: "rare",
                                                                                        False: "not rare"}),
            dodge=False, ax=axes[0])
axes[0].set(xlabel="test F1", ylabel="class", title=f"per-class F1 (macro-F1 = {scores['p_expr']:.3f})")
cm = metrics.confusion_matrix(pred["expression"], pred["logits"].argmax(1), n_classes=len(classes))
row_share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
sns.heatmap(pd.DataFrame(row_share, index=classes, columns=classes), annot=True, fmt=".2f", cmap="rocket_r",
            ax=axes[1], cbar_kws={"label": "share of the true class"})
axes[1].set(xlabel="predicted class", ylabel="true class", title="confusions (rows sum to 1)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The lines above name, by computation, the rare classes and the classes with the lowest F1; in the `smoke` profile
# the run is too short for the comparison to mean anything. Whether low F1 follows rarity or the geometry of the
# circumplex (which pairs of classes the confusion matrix mixes) is the question of the chapters that follow; this
# one base model cannot separate the two.
#
# ## Summary
#
# - The network is a backbone and three linear heads (expression logits, `tanh` valence-arousal, AU logits); its
#   parameters were counted by hand and by module.
# - CCC scores valence and arousal; a timid prediction can have a lower MSE and a lower CCC than one on the right
#   scale, as computed above, so the loss is `1 - CCC`.
# - CCC uses population moments; a sample-moment version moves it on small `n` (a short clip, a per-batch loss), as
#   the table showed, and barely on a long one; the package follows the official `ddof=0`.
# - `P_MTL = P_VA + P_EXPR + P_AU`, each term on its labelled rows; the masked loss terms equal the labelled-only
#   ones.
# - Per-class F1 and the rare classes were computed for a first run.
#
# ## Exercises
#
# Try each exercise before opening its solution. *Predict* exercises ask you to write your prediction down first.

# %% [markdown] tags=["exercise", "predict"]
# **1.** A prediction that doubles every valence, `2 * valence`, is perfectly correlated with the truth. Predict its
# Pearson r and its CCC (a number, or at least: above or below 0.8?), and the CCC of `valence + 0.3`. Then run the
# cell, which also computes the CCC of `2 * valence` from the formula by hand.

# %% tags=["solution"] jupyter={"source_hidden": true}
doubled, shifted_va = 2 * valence, valence + 0.3
m, v = valence.mean(), valence.var()
by_formula = 2 * 2 * v / (4 * v + v + m ** 2)  # s_xy = 2 s^2, s_x^2 = 4 s^2, (x_bar - y_bar)^2 = m^2
print(f"Pearson r(2 v, v) = {np.corrcoef(doubled, valence)[0, 1]:.3f}; CCC(v, 2 v) = "
      f"{metrics.ccc(valence, doubled):.3f} (by the formula {by_formula:.3f}; at most 4/5 = 0.8, reached when the "
      f"mean is 0)")
print(f"CCC(v, v + 0.3) = {metrics.ccc(valence, shifted_va):.3f}; Pearson r = "
      f"{np.corrcoef(shifted_va, valence)[0, 1]:.3f}")

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** `P_EXPR` is the macro-F1 over all eight classes. (a) A model that never predicts one rare class: what is
# the most `P_EXPR` it can reach, whatever its accuracy? (b) Why can a test set's `P_MTL` for AffectNet not be
# compared with one for Aff-Wild2, even on the same model?

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Answer.* (a) The class it never predicts has F1 0, so `P_EXPR` is at most 7/8 of the perfect score: each class
# weighs `1/8` however few images it has. This is why macro-F1 rewards the rare classes that accuracy ignores, and why
# the book reports per-class F1 beside it. (b) Without AU labels, AffectNet's score is `P_VA + P_EXPR` (range
# [-1, 2]), Aff-Wild2's adds `P_AU` (range [-1, 3]): different sums of different terms over different classes
# (contempt against Other) and different frequencies. Compare term by term, on the same classes, and read
# `p_mtl_terms` before comparing two totals.

# %% [markdown] tags=["exercise", "computational"]
# **3.** Masks: what does the expression term of `multitask_loss` return for a batch with no expression label at
# all? And if half the rows of the batch lose their valence-arousal labels (`NaN`), does the VA term equal
# `1 - CCC` computed by hand (with `ccc_by_hand`) on the other half?

# %% tags=["solution"] jupyter={"source_hidden": true}
empty = {**batch, "expression": torch.full_like(batch["expression"], -1)}
print(f"expression term without labels: {float(multitask_loss(out, empty, config_probe, None)[1]['expression']):.3f}"
      " (the masked mean over no entries: the batch still trains VA and AUs)")
half_va = batch["va"].clone()
half_va[::2] = float("nan")
va_term = float(multitask_loss(out, {**batch, "va": half_va}, config_probe, None)[1]["va"])
kept = ~torch.isnan(half_va[:, 0])
pred_va, true_va = out["va"][kept].double().numpy(), half_va[kept].double().numpy()
by_hand_va = 1 - np.mean([ccc_by_hand(pred_va[:, d], true_va[:, d]) for d in range(2)])
print(f"VA term on {int(kept.sum())} labelled rows of {len(kept)}: {va_term:.5f}; by hand {by_hand_va:.5f}")
assert np.isclose(va_term, by_hand_va, atol=1e-5)

# %% [markdown] tags=["exercise", "computational"]
# **4.** Count the parameters of the small CNN with `width` doubled. By what factor does the backbone grow, and
# what does the hand formula `sum 9 c_in c_out + 2 c_out` say it should tend to for wide networks?

# %% tags=["solution"] jupyter={"source_hidden": true}
def backbone_by_hand(w):
    ch = [3, w, 2 * w, 4 * w, 8 * w]
    return sum(9 * a * b + 2 * b for a, b in zip(ch[:-1], ch[1:]))


for w in (width, 2 * width):
    assert backbone_by_hand(w) == count(build_model("small_cnn", len(classes), width=w).backbone)
print(f"backbone: width {width} {backbone_by_hand(width):,}, width {2 * width} {backbone_by_hand(2 * width):,} "
      f"(x {backbone_by_hand(2 * width) / backbone_by_hand(width):.2f}); at width 256 -> 512: "
      f"x {backbone_by_hand(512) / backbone_by_hand(256):.3f}")
print("the 9 c_in c_out terms grow as width^2 (x4); the first block (3 input channels) and the BatchNorm terms grow "
      "only linearly, so the factor approaches 4 from below as the network widens")

# %% [markdown] tags=["exercise", "computational"]
# **5.** The trainer's VA loss is `1 - CCC` computed on each mini-batch. Is the mean of per-batch CCCs the CCC of
# the whole set? Compute both for the noisy prediction `noisy` of the CCC section, with batches of 8, 32 and 128
# rows, and explain the direction of the gap.

# %% tags=["solution"] jupyter={"source_hidden": true}
whole = metrics.ccc(valence, noisy)
order_rows = rng.permutation(len(valence))
batch_rows_ccc = []
for size in (8, 32, 128):
    chunks = [order_rows[i:i + size] for i in range(0, len(order_rows) - size + 1, size)]
    per_batch = [metrics.ccc(valence[c], noisy[c]) for c in chunks]
    batch_rows_ccc.append({"batch size": size, "batches": len(chunks), "mean per-batch CCC": np.mean(per_batch),
                           "whole-set CCC": whole})
per_batch_table = pd.DataFrame(batch_rows_ccc).set_index("batch size")
per_batch_table["gap"] = per_batch_table["mean per-batch CCC"] - whole
per_batch_table

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# CCC is a ratio of moments, not a mean over rows, so the mean of per-batch values is not the whole-set value. In a
# small batch the means of prediction and truth fluctuate, and the square of their difference only ever adds to the
# denominator, while the batch's variances are smaller than the set's: the per-batch CCC is biased, here downwards,
# and the bias shrinks as batches grow (the table gives it for each batch size). Training with `1 - CCC` on small
# batches therefore optimises a somewhat different target
# from the score; larger batches, or a running estimate of the moments, bring them closer.

# %% [markdown] tags=["exercise", "open-ended"]
# **6.** One trained model cannot separate rarity from geometry, but its confusions can hint. For each class, find
# the class it is most often mistaken for, and ask whether that partner is its nearest class on the circumplex. Then
# propose what you would need to turn the hint into evidence.

# %% tags=["solution"] jupyter={"source_hidden": true}
placed_all = placed.placed_only()
nearest_table = degeneracy.nearest_neighbours(placed_all)
hint = []
for k, cls in enumerate(classes):
    off = row_share[k].copy()
    off[k] = -1
    partner = classes[int(off.argmax())]
    nearest_cls = nearest_table.loc[cls, "nearest"] if cls in nearest_table.index else "(no coordinate)"
    hint.append({"class": cls, "train share": report.loc[cls, "train share"], "test F1": report.loc[cls, "f1"],
                 "most confused with": partner, "share": off.max(), "nearest on the circumplex": nearest_cls,
                 "partner is nearest": partner in str(nearest_cls).split(" = ")})
pd.DataFrame(hint).set_index("class")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Discussion.* If the rare classes are mostly confused with their circumplex neighbours, geometry is a candidate;
# if with the largest classes (Neutral, Happy), the prior learnt from the frequencies is. Neither reading is evidence:
# one model, one seed, a simulator whose faces encode the geometry by construction, and (in `smoke`) a run too short
# to mean anything. Evidence needs several seeds, a paired comparison of conditions that change one factor (a
# rebalanced training set; a visually separated pair; an OT cost versus the uniform control), and, for claims about
# real faces, AffectNet or Aff-Wild2 themselves.

# %% [markdown]
# ## Where to go next
#
# Chapter 06 opens the trainer: the loop, load-or-train caching, checkpoints and exact resume, what changes on a
# GPU, and how to run the same code on AffectNet or Aff-Wild2.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
