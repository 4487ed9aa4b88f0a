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
# # 01 · Russell's circumplex and the degenerate pairs
#
# Russell (1980) {footcite:p}`russell1980circumplex` arranged emotion words on a circle in a plane of two axes:
# **valence** (pleasant to unpleasant) and **arousal** (calm to excited). Affect-recognition benchmarks label faces
# with both a category (anger, fear, ...) and a valence-arousal point, and the study this book follows
# {footcite:p}`study2026circumplex` prices a confusion between two categories by how far apart they sit on this plane.
# So before any model, we need the geometry itself: where the classes sit, how far apart they are, and which of them
# nearly coincide.
#
# **You will learn** to place the two benchmarks' class sets on the circumplex from published coordinates, mapped
# by name; to build the cost matrices the later chapters use (valence-arousal, angular, valence-arousal-dominance
# and a uniform cost of matched scale); and to find the degenerate pairs by computation. **Time:** seconds on a CPU.
#
# **Sources.** Russell & Mehrabian (1977), *Evidence for a three-factor theory of emotions*, J. Research in
# Personality 11 {footcite:p}`russell1977evidence`: pleasure-arousal-dominance means of emotion terms. Russell (1980),
# *A circumplex model of affect*, J. Personality and Social Psychology 39 {footcite:p}`russell1980circumplex`:
# positions digitized from its figure. The numbers are in `affect_book/circumplex.py`, each with its source.

# %% tags=["parameters"]
PROFILE = "cpu"
COORDINATES = "russell1977"  # published set: "russell1977" or "russell1980"
CLASS_SET = "affwild2"  # "affwild2", "affectnet8" or "affectnet7"
PLACEMENT = "contempt_at_midpoint"  # named hand placement of contempt (circumplex.HAND_PLACEMENTS)
SEED = 0

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from affect_book import circumplex as cx
from affect_book import costs as costlib  # cost matrices (the name costs is a table below)
from affect_book import degeneracy
from affect_book.params import check_choice, check_number
from affect_book.profiles import get_profile

profile = get_profile(PROFILE)
check_choice("COORDINATES", COORDINATES, cx.COORDINATE_SETS)
check_choice("CLASS_SET", CLASS_SET, cx.CLASS_SETS)
check_choice("PLACEMENT", PLACEMENT, cx.HAND_PLACEMENTS)
check_number("SEED", SEED, low=0, integer=True)
sns.set_theme(context="notebook", style="whitegrid")
pd.set_option("display.precision", 3)

# %% [markdown]
# ## The published coordinates
#
# Two coordinate sets are built in. Russell & Mehrabian (1977) give mean pleasure (valence), arousal and dominance
# for emotion terms; Russell (1980) places 28 terms on the circle, of which the package holds the digitized
# positions that matter here. Neither places *contempt*; the 1980 figure has no *disgust*; and *neutral* is the
# centre of the circle by construction, not a measurement. The package says so rather than inventing a value.

# %%
table_1977 = cx.coordinates(["Neutral", "Happy", "Surprise", "Anger", "Fear", "Disgust", "Sad"], "russell1977")
table_1977.to_frame()

# %%
table_1980 = cx.coordinates(["Neutral", "Happy", "Surprise", "Anger", "Fear", "Disgust", "Sad"], "russell1980")
table_1980.to_frame()

# %% [markdown]
# Drawn on the plane, with Russell's anchor directions around the circle (pleasure at 0 degrees, arousal at 90,
# displeasure at 180, sleepiness at 270):

# %%
fig, ax = plt.subplots(figsize=(6.5, 6.5))
theta = np.linspace(0, 2 * np.pi, 361)
ax.plot(np.cos(theta), np.sin(theta), color="0.8", lw=1)
ax.axhline(0, color="0.6", lw=0.8)
ax.axvline(0, color="0.6", lw=0.8)
anchors = {0: "pleasure", 45: "excitement", 90: "arousal", 135: "distress", 180: "displeasure",
           225: "depression", 270: "sleepiness", 315: "relaxation"}
for deg, word in anchors.items():
    r = np.deg2rad(deg)
    ax.text(1.12 * np.cos(r), 1.12 * np.sin(r), word, ha="center", va="center", color="0.45", fontsize=9)
for term, (v, a) in cx.RUSSELL_1980_TERMS.items():
    ax.scatter(v, a, marker="x", color="0.5")
    ax.annotate(term, (v, a), textcoords="offset points", xytext=(4, -11), fontsize=8, color="0.4")
frame_1977 = table_1977.to_frame()
ax.scatter(frame_1977.valence, frame_1977.arousal, s=60, color="C3", label="Russell & Mehrabian 1977", zorder=3)
label_offset = {"Fear": (-34, 6), "Anger": (4, 7)}  # anger and fear nearly coincide: keep both labels readable
for name, row in frame_1977.iterrows():
    ax.annotate(name, (row.valence, row.arousal), textcoords="offset points", xytext=label_offset.get(name, (5, 5)),
                color="C3")
ax.scatter([], [], marker="x", color="0.5", label="Russell 1980 (digitized terms)")
ax.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3), xlabel="valence (unpleasant -1 to pleasant +1)",
       ylabel="arousal (calm -1 to excited +1)", aspect="equal",
       title="Emotion terms on the valence-arousal plane")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %% [markdown]
# ## Distances, in the open
#
# The cost an optimal-transport term charges for confusing class *i* with class *j* is, in its simplest form, the
# Euclidean distance between their valence-arousal points. Here it is in three lines of NumPy, checked against the
# package's `va_distance_cost`:

# %%
points = table_1977.va  # (classes, 2): valence, arousal
by_hand = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
package = costlib.va_distance_cost(table_1977)
print("by hand == package:", np.allclose(by_hand, package))

# %% [markdown]
# The full table for the 1977 set, in valence-arousal units (the largest possible distance, between opposite
# corners of the [-1, 1] square, is 2√2 ≈ 2.83). This cell's output is a golden reference: the tests re-execute it
# and fail if a change to the package alters a single printed digit.

# %%
# NBVAL_CHECK_OUTPUT
distance_1977 = pd.DataFrame(package, index=table_1977.classes, columns=table_1977.classes)
print(distance_1977.round(3).to_string())

# %% [markdown]
# ## The degenerate pairs, by computation
#
# A pair is *degenerate* when its two classes sit much closer than a typical pair. For every class we find its
# nearest neighbour, and express that distance relative to the median pairwise distance:

# %%
degeneracy.nearest_neighbours(distance_1977)

# %%
pairs_1977 = degeneracy.degenerate_pairs(distance_1977)
pairs_1977.head(5)

# %%
nearest = pairs_1977.iloc[0]
happy_angry = distance_1977.loc["Happy", "Anger"]
angles = np.degrees(np.arctan2(table_1977.va[:, 1], table_1977.va[:, 0]))
angle_of = dict(zip(table_1977.classes, angles))
assert {nearest.a, nearest.b} == {"Anger", "Fear"}, "the text below assumes anger-fear is the nearest 1977 pair"
print(f"nearest pair: {nearest.a}-{nearest.b}, {nearest.distance:.3f} apart "
      f"({nearest.relative:.2f} of the median pairwise distance)")
print(f"that is {nearest.distance / happy_angry:.3f} of the Happy-Anger distance ({happy_angry:.3f}), "
      f"and {abs(angle_of['Anger'] - angle_of['Fear']):.1f} degrees of angle around the circle")
print("next nearest:", "; ".join(f"{r.a}-{r.b} {r.distance:.3f}" for r in pairs_1977.iloc[1:3].itertuples()))

# %% [markdown]
# Anger and fear, the pair the study names as degenerate on Aff-Wild2, are the nearest pair of the 1977 set, and
# the lines above say by how much. An optimal-transport cost built on these points will charge almost nothing for
# mistaking one for the other. That is the crux of the book: a cost can only reward *where* an error lands; it
# cannot make two classes that sit on the same spot distinguishable.
#
# ## Three more costs
#
# - **Angular distance** keeps only the direction around the circle (a fraction of a half turn, 0 to 1). Neutral,
#   at the origin, has no direction; the package charges it a quarter turn (0.5) to every other class, an
#   assumption you can change with `origin_cost`.
# - **Valence-arousal-dominance distance** adds the third axis of the 1977 set. Dominance is where anger (in
#   control) and fear (not in control) part ways.
# - **Uniform cost, matched scale**: every confusion costs the same, scaled so that its mean off-diagonal price
#   equals that of the valence-arousal cost. This is the study's control: same weight, same average price, no
#   geometry. It turns the optimal-transport term into a generic confidence penalty (chapter 04 shows why).

# %%
costs = {
    "valence-arousal": costlib.va_distance_cost(table_1977),
    "angular": costlib.angular_cost(table_1977),
    "valence-arousal-dominance": costlib.vad_distance_cost(table_1977),
}
costs["uniform (matched)"] = costlib.uniform_cost(len(table_1977.classes), match=costs["valence-arousal"])
def rank_of(pairs: pd.DataFrame, a: str, b: str) -> int:
    """Rank (1 = nearest; tied pairs share a rank) of the pair a-b in a degenerate_pairs table."""
    hit = pairs.index[((pairs.a == a) & (pairs.b == b)) | ((pairs.a == b) & (pairs.b == a))]
    return int(pairs.loc[hit[0], "rank"])


def nearest_of(pairs: pd.DataFrame) -> str:
    """The nearest pair, or the tie of nearest pairs, as text."""
    first = pairs[pairs["rank"] == 1]
    if len(first) > 3:
        return f"all {len(first)} pairs tie" if len(first) == len(pairs) else f"{len(first)} pairs tie"
    return " = ".join(f"{r.a}-{r.b}" for r in first.itertuples())


anger, fear = table_1977.classes.index("Anger"), table_1977.classes.index("Fear")
rows = {}
for name, c in costs.items():
    pairs = degeneracy.degenerate_pairs(c, table_1977.classes)
    rows[name] = {"mean off-diagonal": costlib.mean_off_diagonal(c), "Anger-Fear": c[anger, fear],
                  "Anger-Fear / mean": c[anger, fear] / costlib.mean_off_diagonal(c),
                  "rank of Anger-Fear (1 = nearest)": rank_of(pairs, "Anger", "Fear"),
                  "nearest pair": nearest_of(pairs)}
summary = pd.DataFrame(rows).T
summary

# %% [markdown]
# The table is the computed answer to "how cheap is the anger-fear confusion under each cost". Read the rank
# column: tied pairs share a rank (`degenerate_pairs` reports ties as ties, within a tolerance, and never breaks
# them by name), so under the uniform cost every pair has rank 1 and the nearest-pair column says they all tie.

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
for ax, name in zip(axes, ["valence-arousal", "angular", "valence-arousal-dominance"]):
    sns.heatmap(pd.DataFrame(costs[name], index=table_1977.classes, columns=table_1977.classes), annot=True,
                fmt=".2f", cmap="viridis", cbar=False, square=True, ax=ax)
    ax.set(title=f"{name} cost (Russell & Mehrabian 1977)", xlabel="true class", ylabel="predicted class")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The benchmarks' class sets, mapped by name
#
# AffectNet {footcite:p}`mollahosseini2017affectnet` numbers its classes Neutral, Happy, Sad, Surprise, Fear, Disgust,
# Anger, Contempt (codes 0 to 7); Aff-Wild2 {footcite:p}`kollias2019expression` numbers them Neutral, Anger, Disgust,
# Fear, Happiness, Sadness, Surprise, Other. Public code often maps labels to coordinates by position and silently
# swaps classes. The package maps every name to a concept ("Happy" and "Happiness" are both *happy*) and looks the
# concept up, so the order of a class set never matters:

# %%
mapping = pd.DataFrame({
    set_name: pd.Series({c: cx.concept_of(c) for c in cx.class_set(set_name)})
    for set_name in ("affectnet8", "affwild2")
})
mapping

# %%
chosen = cx.coordinates(CLASS_SET, COORDINATES)
print(f"class set {CLASS_SET!r} on {COORDINATES!r}: no published coordinate for {list(chosen.missing) or 'none'}")
chosen.to_frame()

# %% [markdown]
# ## Where do contempt and Other sit?
#
# No published coordinate exists for **contempt** (AffectNet) or **Other** (Aff-Wild2's catch-all). The book treats
# the two differently, and says so wherever it matters:
#
# 1. **Contempt is placed by hand**, from a named set of `circumplex.hand_placements`, each an assumption with its
#    reason recorded in `circumplex.HAND_PLACEMENTS`. Every table says "placed by hand (<name>)". The book's
#    default, `contempt_at_midpoint`, is used by this chapter, chapter 02 and the simulator; the other sets are
#    sensitivity checks. With the data, contempt can instead be placed at its class-mean valence-arousal
#    (`class_mean_coordinates(va, labels, classes)`); that needs the licensed data, which this chapter does not have.
# 2. **Other has no coordinate.** It is a catch-all, not an emotion, so no placement can be defended: the book leaves
#    it out of every degeneracy measure, and in an optimal-transport cost charges it the **mean off-diagonal cost
#    of the placed classes**, in both its row and its column. Never 0: at the origin Other would sit exactly on
#    Neutral, and the cost would reward confusing the two largest Aff-Wild2 classes.
#
# Why the contempt placement matters: it decides contempt's degenerate partner. The study reports anger-contempt as
# the degenerate pair on AffectNet, measured on AffectNet's own data. For each named placement, on the 1977 set:

# %%
rows = []
for name in cx.HAND_PLACEMENTS:
    filled = cx.coordinates("affectnet8", "russell1977", placement=name)
    distance = pd.DataFrame(costlib.va_distance_cost(filled), index=filled.classes, columns=filled.classes)
    nn = degeneracy.nearest_neighbours(filled)
    rows.append({"placement": name, "contempt at": tuple(np.round(cx.hand_placements(name)["contempt"], 3)),
                 "Anger-Contempt": distance.loc["Anger", "Contempt"],
                 "Disgust-Contempt": distance.loc["Disgust", "Contempt"],
                 "contempt's nearest (ties joined by =)": nn.loc["Contempt", "nearest"],
                 "relative to median": nn.loc["Contempt", "relative"]})
placements_table = pd.DataFrame(rows).set_index("placement")
print("\n".join(f"{name}: {spec.why}" for name, spec in cx.HAND_PLACEMENTS.items()))
placements_table

# %% [markdown]
# Every hand placement makes contempt a near-duplicate of some class, and which one depends entirely on the
# assumption: at disgust's or anger's point it *coincides* with that class (distance 0, a confusion an
# optimal-transport cost could not price at all), and at the midpoint it is equally near to both, a tie the package
# reports as a tie rather than picking one by name. That is the honest state of things without data: the position
# of contempt is an input to the experiment, not a fact.
#
# The chosen class set (`CLASS_SET`) with the chosen placement (`PLACEMENT`): first the valence-arousal distances of
# the classes that have a position, then the cost an optimal-transport term would use, with the rule for Other
# applied in the open.

# %%
try:
    placed = cx.coordinates(CLASS_SET, COORDINATES, placement=PLACEMENT)
except ValueError as err:  # the 1980 figure has no disgust, which some placements are computed from
    print(f"{PLACEMENT} cannot be computed on {COORDINATES}: {err}")
    placed = cx.coordinates(CLASS_SET, COORDINATES)
unplaced = list(placed.missing)
other = [c for c in unplaced if degeneracy.is_other(c)]
left_out = [c for c in unplaced if not degeneracy.is_other(c)]
print(f"placed by hand ({placed.placement or 'none'}): {list(placed.filled) or 'none'}; no coordinate: "
      f"{unplaced or 'none'}")
if left_out:
    print(f"{left_out} have no coordinate in {COORDINATES} and no placement here: left out of the tables below")
positioned = placed.placed_only()
distance_chosen = pd.DataFrame(costlib.va_distance_cost(positioned), index=positioned.classes,
                               columns=positioned.classes)
degeneracy.degenerate_pairs(placed, top=3)

# %%
# The optimal-transport cost: placed classes by distance; Other (if any) charged their mean off-diagonal cost.
n_placed = len(positioned.classes)
mean_placed = distance_chosen.to_numpy()[~np.eye(n_placed, dtype=bool)].mean()
names = list(positioned.classes) + other
ot = np.full((len(names), len(names)), mean_placed)  # rows: predicted class, columns: true class
ot[:n_placed, :n_placed] = distance_chosen.to_numpy()
np.fill_diagonal(ot, 0.0)
ot_cost = pd.DataFrame(ot, index=pd.Index(names, name="predicted"), columns=pd.Index(names, name="true"))
off_diagonal = ot[~np.eye(len(names), dtype=bool)]
assert off_diagonal.min() > 0 or PLACEMENT != cx.DEFAULT_PLACEMENT, "the default set has no zero-cost confusion"
print(f"mean off-diagonal distance of the {n_placed} placed classes: {mean_placed:.3f}"
      + (f"; {other} charged it in their row and column" if other else "")
      + f"; cheapest confusion in the cost: {off_diagonal.min():.3f}")
if not left_out and off_diagonal.min() > 0:  # the package's OT cost (affect_book.costs.ot_cost) builds the same
    package_ot = costlib.ot_cost(names, "va", COORDINATES, fill={c: placed.va[placed.classes.index(c)]
                                                                 for c in placed.filled})
    print("equals the package's ot_cost:", np.allclose(package_ot.to_numpy(), ot))
    assert np.allclose(package_ot.to_numpy(), ot)
fig, ax = plt.subplots(figsize=(7, 6))
sns.heatmap(ot_cost, annot=True, fmt=".2f", cmap="viridis", square=True, ax=ax,
            cbar_kws={"label": "cost (valence-arousal distance)"})
hand = (f"placed by hand ({placed.placement}): {', '.join(placed.filled)}" if placed.filled
        else "nothing placed by hand")
ax.set(title=f"{CLASS_SET} on {COORDINATES}\n{hand}" + (f"; {', '.join(other)}: mean cost" if other else ""),
       xlabel="true class", ylabel="predicted class")
plt.show()

# %% [markdown]
# ## Degeneracy in labelled samples: the separability index
#
# Class centroids are half the story: a pair can have distant centroids but spread so wide that its samples
# overlap. With per-sample valence-arousal labels, the package computes for each pair the centroid distance over
# the pooled within-class spread (`separability_index`): near 0, the two classes overlap on the circumplex.
#
# The real benchmarks provide such labels; the simulator of chapter 03 does too. Here, only to show the function at
# work, we draw **toy samples**: Gaussian clouds of a fixed spread around the 1977 positions. These are not data,
# and the index below describes the toy, not faces. (`PROFILE` sets how many toy samples are drawn.)

# %%
rng = np.random.default_rng(SEED)
toy_classes = table_1977.classes
n_per_class = max(50, profile.n_train // 50)
toy_labels = np.repeat(np.arange(len(toy_classes)), n_per_class)
toy_va = np.clip(table_1977.va[toy_labels] + rng.normal(0, 0.15, size=(toy_labels.size, 2)), -1, 1)
print(f"{n_per_class} toy samples per class, spread 0.15 per axis")
separability = degeneracy.separability_index(toy_va, toy_labels, toy_classes)
separability.head(5)

# %% [markdown]
# ## Summary
#
# - The package places classes on the circumplex **by name**, from cited published coordinates, and refuses to
#   invent a position: contempt (and disgust in the 1980 set) must be placed by hand, with a named, stated
#   assumption (`hand_placements`), or derived from labelled data.
# - Other has no coordinate: it is left out of the degeneracy measures and charged the mean off-diagonal cost of
#   the placed classes in an optimal-transport cost, never 0.
# - Computed above: with Russell & Mehrabian (1977), anger and fear are the nearest pair, by a wide margin (see the
#   printed ratios). A valence-arousal cost therefore barely prices the confusion between them.
# - Dominance pulls anger and fear apart; the angular cost ignores arousal intensity; the uniform cost of matched
#   scale has the same mean price and no geometry at all.
# - Where contempt sits is an assumption without data, and it decides contempt's degenerate partner; the book's
#   default (the anger-disgust midpoint) leaves anger and disgust tied as its nearest classes.
#
# ## Exercises
#
# Try each exercise before opening its solution. *Predict* exercises ask you to write your prediction down first.

# %% [markdown] tags=["exercise", "predict"]
# **1.** Russell's 1980 circumplex places the terms from a different study, with a different method, than the 1977
# means. Predict: with the 1980 coordinates, is anger-fear still the nearest pair, and is it nearer or farther apart
# than in the 1977 set? Then run the cell.

# %% tags=["solution"] jupyter={"source_hidden": true}
names_1980 = [c for c in table_1980.classes if c not in table_1980.missing]
coords_1980 = cx.coordinates(names_1980, "russell1980")
va_1980 = costlib.va_distance_cost(coords_1980)
pairs_1980 = degeneracy.degenerate_pairs(va_1980, names_1980)
print(f"1980 set (no coordinate for {list(table_1980.missing)}):")
print(pairs_1980.head(3).to_string(index=False))
print(f"Anger-Fear: 1977 {distance_1977.loc['Anger', 'Fear']:.3f}, "
      f"1980 {va_1980[names_1980.index('Anger'), names_1980.index('Fear')]:.3f}; "
      f"rank in 1980: {rank_of(pairs_1980, 'Anger', 'Fear')}")

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** Suppose two classes sat at exactly the same valence-arousal point. What would a valence-arousal cost charge
# for confusing them, and what would an optimal-transport term built on it do for a model that cannot tell them
# apart? Could *any* choice of cost matrix make the two classes distinguishable from the images?

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Answer.* The cost would be 0 for that confusion, so the OT term would charge nothing for putting the probability
# of one on the other: it is indifferent between them, and only the cross-entropy term still pushes the two apart.
# More generally a cost matrix only prices *where* a mistake lands; it adds no information about the image. Whether
# two classes can be told apart depends on the features the model sees, not on the loss's prices. A larger cost
# for that pair (dominance, or a uniform cost) makes the confusion more expensive, which can push the model to
# spend capacity on it, but it cannot create a signal that is not in the faces. That is the crux of the study's
# claim: a geometric cost on a degenerate pair is nearly free, so it cannot be what separates the pair.

# %% [markdown] tags=["exercise", "computational"]
# **3.** Build the matched-scale uniform cost by hand for the 1977 set (a scalar times `1 - I`) and check that its
# mean off-diagonal entry equals that of the valence-arousal cost and that it equals the package's `uniform_cost`.
# What is the price of the anger-fear confusion under each of the two costs?

# %% tags=["solution"] jupyter={"source_hidden": true}
va_cost = costlib.va_distance_cost(table_1977)
n = va_cost.shape[0]
scale = va_cost.sum() / (n * (n - 1))  # the diagonal is zero, so the off-diagonal mean is sum / (n(n-1))
mine = scale * (1 - np.eye(n))
print(f"scale {scale:.4f}; mean off-diagonal: uniform {costlib.mean_off_diagonal(mine):.4f}, "
      f"valence-arousal {costlib.mean_off_diagonal(va_cost):.4f}")
print("equals the package's uniform_cost:", np.allclose(mine, costlib.uniform_cost(n, match=va_cost)))
print(f"Anger-Fear: valence-arousal {va_cost[anger, fear]:.3f}, uniform {mine[anger, fear]:.3f} "
      f"({mine[anger, fear] / va_cost[anger, fear]:.1f} times as much)")

# %% [markdown] tags=["exercise", "computational"]
# **4.** Which pair does dominance separate the most, relative to its valence-arousal distance? Compute the ratio of
# the valence-arousal-dominance distance to the valence-arousal distance for every pair of the 1977 set.

# %% tags=["solution"] jupyter={"source_hidden": true}
va_cost = costlib.va_distance_cost(table_1977)  # as in exercise 3, so that this cell stands alone
vad_cost = costlib.vad_distance_cost(table_1977)
i, j = np.triu_indices(len(table_1977.classes), k=1)
ratio = pd.DataFrame({"a": np.array(table_1977.classes)[i], "b": np.array(table_1977.classes)[j],
                      "VA": va_cost[i, j], "VAD": vad_cost[i, j], "VAD / VA": vad_cost[i, j] / va_cost[i, j]})
ratio.sort_values("VAD / VA", ascending=False).head(3)

# %% [markdown] tags=["exercise", "open-ended"]
# **5.** Where contempt sits is an assumption. Slide it along the segment from anger's point to disgust's point
# (1977 set) and watch which class is its nearest neighbour and how close. Is there a placement that makes contempt
# *not* degenerate with anything? Propose how you would place contempt, and what data would settle it.

# %% tags=["solution"] jupyter={"source_hidden": true}
va_cost = costlib.va_distance_cost(table_1977)
i, j = np.triu_indices(len(table_1977.classes), k=1)  # every pair once
anger_va = table_1977.va[anger]
disgust_va = table_1977.va[table_1977.classes.index("Disgust")]
rows = []
for t in np.linspace(0, 1, 5):
    point = (1 - t) * anger_va + t * disgust_va
    gaps = np.linalg.norm(table_1977.va - point, axis=1)
    rows.append({"t (0 = anger, 1 = disgust)": t, "contempt at": tuple(np.round(point, 3)),
                 "nearest (ties joined by =)": " = ".join(np.array(table_1977.classes)[np.isclose(gaps, gaps.min())]),
                 "distance": gaps.min(),
                 "/ median pairwise": gaps.min() / np.median(va_cost[i, j])})
pd.DataFrame(rows)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Discussion.* Every point of the segment sits within a small fraction of the median pairwise distance of anger or
# disgust (the table computes how small), so no placement between the two escapes degeneracy; only a placement
# outside the negative-valence, mid-arousal region would, and nothing published supports one. A defensible answer is
# to measure it: with AffectNet's valence-arousal labels, place contempt at its class mean (`class_mean_coordinates`)
# and report the spread with it (`separability_index`), since a class mean alone hides overlap. Without data, run
# every named placement as a sensitivity check and report whether the conclusion changes.

# %% [markdown]
# ## Where to go next
#
# The next chapters put class **frequencies** beside this geometry (which of the two predicts which classes fail is
# a question for trained models, not for a table), build the face simulator, and turn these cost matrices into
# optimal-transport losses.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
