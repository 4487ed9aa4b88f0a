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
# # 02 · How rare are the rare classes? Class frequencies beside the circumplex
#
# The usual explanation for why anger, fear, disgust and contempt fail in the wild is that they are **rare**: few
# training images, so the model sees too few to learn them. Chapter 01 gave a second candidate: some classes sit
# almost on top of each other on the valence-arousal plane (**degenerate**) {footcite:p}`russell1977evidence`. This
# chapter puts numbers on the first candidate and sets the two side by side, class by class.
#
# **You will learn** to read the published class counts of AffectNet and s-Aff-Wild2; to measure imbalance three ways
# (max/min ratio, the effective number of samples of Cui et al. 2019 {footcite:p}`cui2019classbalanced`, entropy); to
# name the rare classes by a stated rule instead of by habit; to recompute all of it from your own licensed copy with
# one parameter (`DATA_ROOT`); and to build the table the rest of the book keeps returning to: each class's frequency
# beside its circumplex degeneracy. **Time:** seconds on a CPU (longer with DATA_ROOT: every annotation file is read).
#
# **Sources.** AffectNet: Mollahosseini, Hasani & Mahoor (2017), *AffectNet: A Database for Facial Expression,
# Valence, and Arousal Computing in the Wild*, IEEE Trans. Affective Computing
# {footcite:p}`mollahosseini2017affectnet`. s-Aff-Wild2: Kollias (2022), *ABAW: Learning from Synthetic Data &
# Multi-Task Learning Challenges* (ABAW4) {footcite:p}`kollias2022abaw`; Aff-Wild2 itself: Kollias & Zafeiriou (2019)
# {footcite:p}`kollias2019expression`. Effective number: Cui, Jia, Lin, Song & Belongie (2019), *Class-Balanced Loss
# Based on Effective Number of Samples*, CVPR {footcite:p}`cui2019classbalanced`. The counts, each with its source,
# are in `affect_book/data/published.py`.

# %% tags=["parameters"]
PROFILE = "cpu"
DATASET = "affwild2"  # what DATA_ROOT holds: "affwild2", "affectnet" or "manifest"
DATA_ROOT = None  # a licensed copy (folder, or manifest CSV); None: published counts only
SPLIT = "train"  # "train" or "val" (manifest: a value of its split column, or "all")
LAYOUT = "auto"  # affectnet: "original", "npy", "folders"; affwild2: "unitask", "multitask"
COORDINATES = "russell1977"  # published coordinate set of chapter 01: "russell1977" or "russell1980"
PLACEMENT = "contempt_at_midpoint"  # named hand placement of contempt (chapter 01; circumplex.HAND_PLACEMENTS)
RARE_FRACTION = 0.5  # a class is rare when its share is below RARE_FRACTION / (number of classes)
BETA = 0.9999  # Cui et al.'s beta for the effective number of samples

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from affect_book import circumplex as cx
from affect_book import costs
from affect_book import degeneracy
from affect_book import imbalance as im
from affect_book.data import sources
from affect_book.data.published import published_counts, published_table
from affect_book.params import check_choice, check_number, check_path
from affect_book.profiles import get_profile

profile = get_profile(PROFILE)
check_choice("DATASET", DATASET, ("affwild2", "affectnet", "manifest"))
data_root = check_path("DATA_ROOT", DATA_ROOT)
check_choice("LAYOUT", LAYOUT, ("auto", "original", "npy", "folders", "unitask", "multitask"))
check_choice("COORDINATES", COORDINATES, cx.COORDINATE_SETS)
check_choice("PLACEMENT", PLACEMENT, cx.HAND_PLACEMENTS)
check_number("RARE_FRACTION", RARE_FRACTION, low=0.01, high=1)
check_number("BETA", BETA, low=0, high=0.999999)
sns.set_theme(context="notebook", style="whitegrid")
pd.set_option("display.precision", 3)

# %% [markdown]
# ## The published counts
#
# Three training sets: AffectNet's manually annotated images (8 classes), the multi-task s-Aff-Wild2 frames the
# study trains on (8 classes, Other included), and the larger uni-task expression track of Aff-Wild2. The table
# lists what each count is and where it comes from.

# %%
published_table()

# %%
keys = {"AffectNet (train)": "affectnet-train", "s-Aff-Wild2 (train)": "s-affwild2-train",
        "Aff-Wild2 EXPR track (train)": "affwild2-expr-train"}
counts = {name: published_counts(key) for name, key in keys.items()}
rows = []
for name, series in counts.items():
    for cls, n in series.items():
        rows.append({"dataset": name, "class": cls, "concept": cx.concept_of(cls), "count": int(n),
                     "share": n / series.sum()})
frequencies = pd.DataFrame(rows)
frequencies.pivot(index="concept", columns="dataset", values="count").astype("Int64")

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), sharey=True)
for ax, (name, series) in zip(axes, counts.items()):
    share = (series / series.sum()).sort_values(ascending=False)
    sns.barplot(x=share.index, y=100 * share.values, ax=ax, color="C0")
    ax.axhline(100 / len(share), color="C3", ls="--", lw=1, label="uniform share")
    ax.axhline(100 * RARE_FRACTION / len(share), color="C1", ls=":", lw=1.5, label="rare threshold")
    ax.set(title=name, xlabel="class (most to least frequent)", ylabel="share of expression labels (%)")
    ax.tick_params(axis="x", rotation=45)
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Imbalance, in the open
#
# Three measures of one count vector `n` over `C` classes:
#
# - **max/min ratio**: `max(n) / min(n)`. Simple, and blind to everything between the extremes.
# - **effective number of samples** (Cui et al. 2019 {footcite:p}`cui2019classbalanced`): `E(n) = (1 - beta^n) / (1 -
#   beta)`. Each extra image of a class adds less than the one before (they overlap), so `E` saturates at `1 / (1 -
#   beta)`. The ratio of the largest to the smallest `E` is the imbalance a class-balanced loss with this beta
#   actually corrects.
# - **entropy** `H = -sum p log p` of the shares, and **normalized entropy** `H / log C`: 1 when balanced.
#
# By hand with NumPy, then checked against `affect_book.imbalance`:

# %%
n = counts["AffectNet (train)"].to_numpy(dtype=float)
p = n / n.sum()
by_hand = {"max/min ratio": n.max() / n.min(),
           "entropy (nats)": -(p * np.log(p)).sum(),
           "normalized entropy": -(p * np.log(p)).sum() / np.log(len(n)),
           "effective numbers": (1 - BETA ** n) / (1 - BETA)}
assert np.isclose(by_hand["max/min ratio"], im.imbalance_ratio(n))
assert np.isclose(by_hand["entropy (nats)"], im.class_entropy(n))
assert np.isclose(by_hand["normalized entropy"], im.normalized_entropy(n))
assert np.allclose(by_hand["effective numbers"], im.effective_number(n, BETA))
print("by hand == package: True (all four asserted)")
print(f"AffectNet train, beta={BETA}: effective numbers "
      + ", ".join(f"{c} {e:,.0f}" for c, e in zip(counts["AffectNet (train)"].index, by_hand["effective numbers"])))

# %%
imbalance = pd.DataFrame({name: im.imbalance_summary(series, betas=(0.999, BETA)) for name, series in counts.items()})
imbalance

# %%
ratio_an = imbalance.loc["max/min ratio", "AffectNet (train)"]
ratio_aw = imbalance.loc["max/min ratio", "s-Aff-Wild2 (train)"]
eff_key = f"effective-number ratio (beta={BETA})"
print(f"max/min ratio: AffectNet {ratio_an:.1f}, s-Aff-Wild2 {ratio_aw:.1f} "
      f"(AffectNet is {ratio_an / ratio_aw:.1f} times as skewed by this measure)")
print(f"normalized entropy: AffectNet {imbalance.loc['normalized entropy', 'AffectNet (train)']:.3f}, "
      f"s-Aff-Wild2 {imbalance.loc['normalized entropy', 's-Aff-Wild2 (train)']:.3f}")
print(f"effective-number ratio at beta={BETA}: AffectNet {imbalance.loc[eff_key, 'AffectNet (train)']:.2f}, "
      f"s-Aff-Wild2 {imbalance.loc[eff_key, 's-Aff-Wild2 (train)']:.2f}; at beta=0.999 "
      f"{imbalance.loc['effective-number ratio (beta=0.999)', 'AffectNet (train)']:.3f} and "
      f"{imbalance.loc['effective-number ratio (beta=0.999)', 's-Aff-Wild2 (train)']:.3f}")
low_beta = imbalance.loc["effective-number ratio (beta=0.999)"]
assert (low_beta < 1.1).all() and (low_beta < imbalance.loc["max/min ratio"]).all(), \
    "the text below says beta=0.999 sees the classes as nearly balanced"

# %% [markdown]
# The effective-number ratio depends on beta more than on the data: with `beta = 0.999` every class with a few
# thousand images already counts as about 1,000 effective samples, so the classes look balanced; only as beta
# approaches 1 does the ratio climb back toward the raw max/min ratio. A class-balanced loss therefore corrects as
# much imbalance as its beta lets it: a choice to state in every experiment.
#
# ## Which classes are rare? A rule, not a habit
#
# "Rare" here means: a share below `RARE_FRACTION` of a uniform share (with the default 0.5, under half of `1/C`).
# The lists are computed; compare them with the four classes the field usually calls rare (anger, fear, disgust,
# contempt).

# %%
usual = {"anger", "fear", "disgust", "contempt"}
rare = {name: im.rare_classes(series, fraction=RARE_FRACTION) for name, series in counts.items()}
for name, series in counts.items():
    names = rare[name]
    ranks = series.rank(ascending=False, method="min").astype(int)
    present = [c for c in series.index if cx.concept_of(c) in usual]
    not_rare = [f"{c} (rank {ranks[c]} of {len(series)}, {100 * series[c] / series.sum():.1f} %)" for c in present
                if c not in names]
    extra = [c for c in names if cx.concept_of(c) not in usual]
    print(f"{name}: rare = {names}")
    print(f"   usually-called-rare classes that are not rare by this rule: {not_rare or 'none'}")
    print(f"   rare by this rule but not usually called rare: {extra or 'none'}")

# %% [markdown]
# ## Recomputed from your copy
#
# With `DATA_ROOT` pointing at a licensed copy (and `DATASET`, `SPLIT`, `LAYOUT` saying what it is), the same counts
# are recomputed from the annotation files, with every skipped item counted by reason: invalid markers, excluded
# codes, frames without an image. No image is decoded here; `affect-book data summary` prints the same numbers from
# the command line. Without `DATA_ROOT`, the chapter continues on the published counts alone.

# %%
PUBLISHED_FOR = {("affectnet", "train"): "affectnet-train", ("affectnet", "val"): "affectnet-val",
                 ("affwild2", "train", "multitask"): "s-affwild2-train",
                 ("affwild2", "val", "multitask"): "s-affwild2-val",
                 ("affwild2", "train", "unitask"): "affwild2-expr-train"}
data_records = None
if data_root is None:
    print("DATA_ROOT is not set: every number in this chapter comes from the published counts above.")
else:
    options = {} if LAYOUT == "auto" else {"layout": LAYOUT}
    data_records = sources.get_records(DATASET, data_root, SPLIT, **options)
    summary = sources.summary_of(data_records, DATASET, SPLIT)
    print(sources.format_summary(summary, data_records.notes))
    key = PUBLISHED_FOR.get((DATASET, SPLIT)) or PUBLISHED_FOR.get((DATASET, SPLIT, data_records.layout))
    mine = pd.Series(summary["expression_counts"], name="your copy")
    if key is not None:
        published = published_counts(key).rename(f"published ({key})")
        comparison = pd.concat([mine, published], axis=1)
        comparison["difference"] = comparison["your copy"] - comparison.iloc[:, 1]
        display(comparison)
    else:
        print("no published counts to compare with for this dataset, split and layout")

# %% [markdown]
# ## The question of the book, as a table
#
# For every class: how frequent it is, and how degenerate it is on the circumplex (chapter 01): the distance to its
# nearest other class, relative to the median distance between classes. Below 1 means closer than a typical pair.
#
# Positions come from the published coordinate set `COORDINATES`, as in chapter 01. Two classes have none, and the
# book treats them by its stated rules (chapter 01):
#
# - **contempt** is **placed by hand** with the named set `PLACEMENT` (the book's default, `contempt_at_midpoint`:
#   the midpoint of anger and disgust, the same set chapter 01 and the simulator use); the table says
#   "placed by hand (<name>)";
# - **Other** has **no coordinate**: a catch-all is not a point on the circumplex, so it is left out of the
#   degeneracy columns (its frequency still counts). In an optimal-transport cost it is charged the mean
#   off-diagonal cost of the placed classes, never 0.
#
# With `DATA_ROOT`, the classes of `DATASET` are placed instead at their **class-mean valence-arousal in your data**
# (where the data has VA labels for the class; Other still has no coordinate), and the frequencies are your copy's.

# %%
def frequency_and_degeneracy(series, va=None, labels=None, placement=None):
    """One row per class: count, share, frequency rank, nearest class(es) and relative distance (placed classes)."""
    classes = list(series.index)
    # positions by the rules above: published, placed by hand, or the data's class means; Other has none
    pos, origin = degeneracy.class_positions(classes, COORDINATES, placement or PLACEMENT, va, labels)
    placed = [c for c in classes if c in pos]
    nn = degeneracy.nearest_neighbours(costs.va_distance_cost(np.array([pos[c] for c in placed])), placed)
    nn = nn.reindex(classes)
    table = pd.DataFrame({"count": series.astype(int), "share": series / series.sum(),
                          "frequency rank": series.rank(ascending=False, method="min").astype(int),
                          "nearest class": nn["nearest"], "nearest distance": nn["distance"],
                          "relative to median": nn["relative"],
                          # ties (equal within 1e-9) share a rank: rounding first keeps float noise out
                          "degeneracy rank": nn["relative"].round(9).rank(method="min").astype("Int64"),
                          "position from": origin})
    return table.rename_axis("class")


study = {"AffectNet (train)": counts["AffectNet (train)"], "s-Aff-Wild2 (train)": counts["s-Aff-Wild2 (train)"]}
placement_data = {}
if data_records is not None:
    name = f"your {DATASET} ({SPLIT})"
    study[name] = pd.Series(data_records.expression_counts())
    placement_data[name] = (data_records.va, data_records.expression)
tables = {name: frequency_and_degeneracy(series, *placement_data.get(name, (None, None)))
          for name, series in study.items()}
tables["AffectNet (train)"]

# %%
tables["s-Aff-Wild2 (train)"]

# %%
if data_records is not None:  # your copy, positions from its valence-arousal labels where it has them
    display(tables[f"your {DATASET} ({SPLIT})"])

# %%
for name, table in tables.items():
    coincide = table.index[table["nearest distance"] == 0].tolist()
    if coincide:
        print(f"{name}: {coincide} sit on the same point (distance 0): "
              + "; ".join(f"{c} ({table.loc[c, 'position from']})" for c in coincide))
    most = table.index[table["degeneracy rank"] == 1]  # every class tied for most degenerate
    nearest = ", ".join(f"{c}'s nearest {table.loc[c, 'nearest class']}" for c in most)
    rarest = table["share"].idxmin()
    print(f"{name}: most degenerate {' = '.join(most)} ({table.loc[most[0], 'relative to median']:.2f} of the "
          f"median; {nearest}); rarest {rarest} ({100 * table.loc[rarest, 'share']:.1f} %)")

# %% [markdown]
# Other's degeneracy columns are empty by the book's rule, not by accident. Contempt's row is the hand placement
# speaking, not a measurement: with the default midpoint placement, contempt is exactly as near to anger as to
# disgust, and the table lists both (joined by "=") rather than picking one by name; the data-mean placement (with
# `DATA_ROOT`) replaces it.
#
# As a figure: frequency on one axis, degeneracy on the other, one point per class.

# %%
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

fig, axes = plt.subplots(1, len(tables), figsize=(6.5 * len(tables), 5.5), squeeze=False)
for ax, (name, table) in zip(axes[0], tables.items()):
    shown = table[(table["share"] > 0) & table["relative to median"].notna()]  # Other: no coordinate
    ax.scatter(100 * shown["share"], shown["relative to median"], s=60, color="C0")
    # classes that (nearly) coincide on this plot share one label
    spots = {}
    for cls, row in shown.iterrows():
        key = (round(np.log10(100 * row["share"]), 1), round(row["relative to median"], 2))
        spots.setdefault(key, []).append((cls, row))
    for i, members in enumerate(sorted(spots.values(), key=lambda m: m[0][1]["share"])):
        cls, row = members[0]
        ax.annotate(" / ".join(c for c, _ in members), (100 * row["share"], row["relative to median"]),
                    textcoords="offset points", xytext=(5, 5 if i % 2 == 0 else -13), fontsize=9)
    ax.axhline(1, color="0.6", ls="--", lw=1, label="median pairwise distance")
    ax.axvline(100 / len(table), color="C3", ls="--", lw=1, label="uniform share")
    ax.set(xscale="log", title=name, xlabel="share of expression labels (%, log scale)",
           ylabel="nearest-class distance / median distance")
    ax.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 5, 10, 20, 50]))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
axes[0][0].legend(loc="upper left", fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the figure as a map, not as a verdict. Rare classes sit to the left, degenerate ones low. A class can be
# rare without being degenerate, degenerate without being rare, or both. **Which of the two predicts how well a
# model recognizes a class is not something counts and coordinates can answer**: it needs trained models, per-class
# scores, and interventions that change one factor while holding the other fixed. That is what the later chapters
# do; this chapter only lays out the two candidates.
#
# ## Simulator presets
#
# The face simulator of chapter 03 (the book's embedded default) mirrors the benchmarks: its `affwild2` preset
# draws training classes in s-Aff-Wild2's multi-task proportions, its `affectnet` preset in AffectNet's, and
# `balanced` draws every class equally. The counts below are the preset's design at this profile's size (computed
# from its configuration, no image is generated), with the same degeneracy columns, so the simulator's imbalance can
# be read against the benchmarks'.

# %%
from affect_book.data.simulator import PRESETS, make_config

sim_tables = {}
for preset in PRESETS:
    design = make_config(preset, PROFILE)
    sim_tables[f"simulator {preset} ({PROFILE}, train)"] = frequency_and_degeneracy(
        pd.Series(design.class_counts("train")))
mirrors = {"simulator affwild2": "s-Aff-Wild2 (train)", "simulator affectnet": "AffectNet (train)"}
for preset_name, published_name in mirrors.items():
    name = next(n for n in sim_tables if n.startswith(preset_name + " "))
    gap = (sim_tables[name]["share"] - tables[published_name]["share"]).abs().max()
    print(f"{name}: ratio {im.imbalance_ratio(sim_tables[name]['count']):.1f}, published "
          f"{im.imbalance_ratio(tables[published_name]['count']):.1f}; largest share difference "
          f"{100 * gap:.2f} percentage points")
pd.DataFrame({name: t["share"] for name, t in {**tables, **sim_tables}.items()}).round(3)

# %% [markdown]
# ## Summary
#
# - The published counts are in the package with their sources; the chapter computed their imbalance three ways
#   and printed the values above. The effective-number ratio depends strongly on beta.
# - The rare classes were named by a stated rule (share below `RARE_FRACTION` of a uniform share) for each
#   dataset, and compared with the four classes the field usually calls rare.
# - With `DATA_ROOT`, every count is recomputed from your copy, skipped items counted by reason, and class
#   positions taken from your data's valence-arousal labels.
# - The table and figure set each class's frequency beside its circumplex degeneracy. Which one predicts
#   difficulty is left open here.
#
# ## Exercises
#
# Try each exercise before opening its solution. *Predict* exercises ask you to write your prediction down first.

# %% [markdown] tags=["exercise", "predict"]
# **1.** The effective number of samples saturates at `1 / (1 - beta)`. Predict, for AffectNet's training counts:
# as beta goes from 0.9 towards 1, does the effective-number ratio (largest over smallest `E`) rise steadily,
# jump, or stay flat, and which value does it approach? At which beta does it first reach half the max/min ratio?

# %% tags=["solution"] jupyter={"source_hidden": true}
an = counts["AffectNet (train)"].to_numpy(dtype=float)
betas = [0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999, 1 - 1e-8]
effective = [im.effective_number(an, b) for b in betas]
sweep = pd.DataFrame({"beta": [str(b) for b in betas], "1 / (1 - beta)": [1 / (1 - b) for b in betas],
                      "effective-number ratio": [e.max() / e.min() for e in effective]})
sweep["/ max-min ratio"] = sweep["effective-number ratio"] / im.imbalance_ratio(an)
print(f"AffectNet max/min ratio: {im.imbalance_ratio(an):.2f}; smallest class {an.min():,.0f} images")
half = sweep[sweep["/ max-min ratio"] >= 0.5]
print("first beta reaching half the max/min ratio:", half["beta"].iloc[0] if len(half) else "none in the sweep")
sweep

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# The ratio stays near 1 as long as `1 / (1 - beta)` is well below the smallest class's count (every class is
# "saturated"), then climbs over the one or two decades of beta where `1 / (1 - beta)` passes through the range of
# the counts, and approaches the max/min ratio as beta goes to 1 (for small `(1 - beta) n`,
# `E(n) = (1 - beta^n) / (1 - beta)` tends to `n`). Where the climb happens is set by the counts' absolute size.

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** In the tables above, several of the rarest classes are also among the most degenerate ones. Why can a table
# of per-class scores from a model trained on one of these data sets not tell you whether rarity or degeneracy
# makes a class hard? What kind of data or experiment could?

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Answer.* Rarity and degeneracy are confounded: they vary together across the classes, so a low score on a rare,
# degenerate class is explained equally well by either cause (and by others the table does not show, such as
# visual similarity or label noise). With only eight classes, a correlation across classes has little power
# either. To separate them, vary one while holding the other fixed: resample the training set to balance the
# classes (frequency changes, geometry does not) and see whether the degenerate pair's confusion persists; or, in a
# simulator, move the classes apart on the circumplex at fixed frequency, or make a well-separated class rare.
# Chapter 03's simulator is built for exactly these interventions.

# %% [markdown] tags=["exercise", "computational"]
# **3.** How many of AffectNet's training images would the largest class need to lose for the max/min ratio to
# equal s-Aff-Wild2's? Would any other class have to shrink too?

# %% tags=["solution"] jupyter={"source_hidden": true}
an_counts = counts["AffectNet (train)"]
target = im.imbalance_ratio(counts["s-Aff-Wild2 (train)"])
keep = target * an_counts.min()
others = [c for c in an_counts.index if an_counts[c] > keep and c != an_counts.idxmax()]
print(f"{an_counts.idxmax()} would have to shrink from {an_counts.max():,} to {keep:,.0f} images "
      f"(lose {an_counts.max() - keep:,.0f}); other classes above {keep:,.0f} would have to shrink too: "
      f"{others or 'none'}")

# %% [markdown] tags=["exercise", "computational"]
# **4.** A class-balanced loss {footcite:p}`cui2019classbalanced` weights class `c` by `(1 - beta) / (1 - beta^n_c)`,
# normalised to sum to the number of classes. Compute these weights by hand for AffectNet at `beta = 0.999` and `beta
# = 0.9999`, check them against `affect_book.losses.class_balanced_weights`, and set them beside inverse-frequency
# weights normalised the same way. Which beta is close to a no-op?

# %% tags=["solution"] jupyter={"source_hidden": true}
from affect_book.losses import class_balanced_weights

an_counts = counts["AffectNet (train)"]
an = an_counts.to_numpy(dtype=float)
weights = {}
for beta in (0.999, 0.9999):
    w = (1 - beta) / (1 - beta ** an)
    w = w * len(w) / w.sum()
    assert np.allclose(w, class_balanced_weights(an, beta))
    weights[f"class-balanced, beta={beta}"] = w
inverse = 1 / an
weights["inverse frequency"] = inverse * len(an) / inverse.sum()
weights_table = pd.DataFrame(weights, index=an_counts.index)
print("by hand == package: True (asserted for both betas)")
print("largest / smallest weight:", {k: round(float(v.max() / v.min()), 2) for k, v in weights.items()})
weights_table

# %% [markdown] tags=["exercise", "computational"]
# **5.** Move contempt from `PLACEMENT` to each of the other named placements. Does its nearest class change, and
# does AffectNet's most degenerate class change?

# %% tags=["solution"] jupyter={"source_hidden": true}
for name in cx.HAND_PLACEMENTS:
    table = frequency_and_degeneracy(counts["AffectNet (train)"], placement=name)
    most = table.index[table["degeneracy rank"] == 1].tolist()
    print(f"{name:21}: contempt's nearest {table.loc['Contempt', 'nearest class']:17} "
          f"({table.loc['Contempt', 'relative to median']:.2f} of the median); most degenerate: {' = '.join(most)}")

# %% [markdown] tags=["exercise", "open-ended"]
# **6.** "Rare" was defined here as a share below `RARE_FRACTION` of a uniform share. How sensitive is the list of
# rare classes to that fraction? Propose the rule you would defend in a paper, and say what it should depend on
# (the number of classes? the absolute count? the evaluation metric?).

# %% tags=["solution"] jupyter={"source_hidden": true}
fractions = (0.25, 0.5, 0.75, 1.0)
pd.DataFrame({name: {f: ", ".join(im.rare_classes(series, fraction=f)) or "none" for f in fractions}
              for name, series in counts.items()}).rename_axis("RARE_FRACTION")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Discussion.* The table shows how the list grows with the fraction; a class that enters only at a high fraction is
# "rare" by convention rather than by any sharp property. A share rule ignores absolute size: a class with 1 % of
# a million images has ten thousand examples, which may be plenty. A defensible rule states both a share (relative
# to `1/C`, so it scales with the number of classes) and an absolute floor tied to what the model needs, and is
# fixed *before* looking at per-class scores; better still, report results as a function of frequency rather than
# for a binary rare/frequent split.

# %% [markdown]
# ## Where to go next
#
# Chapter 03 builds the face simulator, where frequency and geometry can be set independently: the controlled
# experiment that counts and coordinates alone cannot provide.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
