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
# # 08 · Error geometry: where the errors land, and what the features leave behind
#
# The study {footcite:p}`study2026circumplex` makes two claims about *where* errors land: with the circumplex cost,
# the errors on Aff-Wild2 land affectively nearer the truth, while on AffectNet they do not, which it blames on a
# visual confound. Its conclusion is about representations: a cost reshapes the errors but cannot separate classes
# that the features do not separate. This chapter measures both, on the runs of chapter 07, from their saved test
# predictions and penultimate features: nothing is retrained when chapter 07 has run.
#
# **You will learn** how to measure the geometry of errors (their price under a cost, their valence-arousal
# distance, whether they keep the quadrant, whether they go to the nearest class, how much of a degenerate pair's
# errors stay inside the pair), each first on a confusion matrix small enough to check by hand; how to compare these
# measures between conditions, paired by seed; how to ask whether the features separate a pair (cross-validated
# linear probes, chapter 01's separability index in feature space, linear CKA); and how to put frequency and
# geometry in one regression. **Time:** the analyses' measured time is printed at the end; chapter 07's grid is
# loaded from the cache when chapter 07 has run (this chapter trains it otherwise, through the same load-or-train
# path, and says how many runs it trained); in `smoke` the grid is tiny and its numbers are **not meaningful**.

# %% tags=["parameters"]
PROFILE = "cpu"
PRESETS = ["affwild2", "affectnet"]  # simulator presets (used when DATASET is "synthetic"); or "a,b"
CONDITIONS = None  # None: chapter 07's grid for the profile; or "a,b,c" (must hold base and circumplex)
SEEDS = None  # None: the profile's number of seeds
EXECUTOR = "local"  # "local" or "slurm", as in chapter 07 (used only for runs missing from the cache)
WORKERS = None  # local processes; None: 1 in smoke, else the cores
DATASET = "synthetic"  # "synthetic" (the simulator) or a licensed copy: "affectnet", "affwild2", "manifest"
DATA_ROOT = None  # folder of the licensed copy; None uses the simulator
TUNING_SEEDS = 2  # chapter 07's lambda sweep, when it runs (seeds 1000, ...; its runs are loaded)
LAMBDA_OT = None  # None: as chapter 07 (the recorded tuning when it matches, else the sweep); or a weight
RECORDED = "decisive"  # the recorded study shown beside this run (docs/results/cpu/<RECORDED>); None: none
ALPHA = 0.05  # level of every test
N_PERMUTATIONS = 199  # draws of the nearest-error baseline per run
DISTANCE_MARGIN = 0.05  # equivalence margin of the mean error distance, valence-arousal units (an assumption;
# the recorded study uses affect_book.analysis.DISTANCE_MARGIN)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import confusion_matrix

from affect_book import circumplex as cx
from affect_book import costs
from affect_book import degeneracy
from affect_book import geometry as geo
from affect_book import representation as rep
from affect_book.params import check_number
from affect_book.study import chapter_grid, chapter_study
from affect_book.analysis import (CHAPTER_08_TESTS, GEOMETRY_METRICS, claim_verdicts, class_regression,
                                  geometry_statistics, load_recorded, power_plan, recorded_lambda, study_class_table,
                                  study_cka, study_geometry, study_predictions, study_separability, verdict_text,
                                  verdicts_frame, write_claim)

design = chapter_grid(PRESETS, CONDITIONS, SEEDS, PROFILE, DATASET, DATA_ROOT)  # chapter 07's grid, checked
conditions = design.conditions
check_number("ALPHA", ALPHA, low=0.001, high=0.5)
check_number("N_PERMUTATIONS", N_PERMUTATIONS, low=1, integer=True)
check_number("DISTANCE_MARGIN", DISTANCE_MARGIN, low=0.0)
workers = WORKERS if WORKERS is not None else (1 if PROFILE == "smoke" else None)

# %% [markdown]
# ## Each metric, small and in the open
#
# Five Aff-Wild2 classes and a hand-made confusion matrix (rows the truth, columns the prediction, as
# scikit-learn's). Other has no place on the circumplex (the book's rule, chapter 01): the distance-based metrics
# leave its errors out and count them; the cost-based ones price it as the cost does (the mean off-diagonal cost).

# %%
toy_classes = ("Neutral", "Anger", "Fear", "Happiness", "Other")
toy_cm = np.array([[20, 1, 1, 2, 6],
                   [2, 10, 6, 1, 1],
                   [1, 5, 8, 0, 1],
                   [3, 0, 0, 25, 2],
                   [5, 1, 0, 1, 13]])
t_idx, p_idx = np.nonzero(toy_cm)
toy_true = np.repeat(t_idx, toy_cm[t_idx, p_idx])
toy_pred = np.repeat(p_idx, toy_cm[t_idx, p_idx])
toy_coords = cx.coordinates(toy_classes)
toy_cost = costs.ot_cost(toy_classes, "va")  # rows predicted, columns true
assert (confusion_matrix(toy_true, toy_pred) == toy_cm).all()
display(pd.DataFrame(toy_cm, index=pd.Index(toy_classes, name="true"),  # noqa: F821 -- IPython's display
                     columns=pd.Index(toy_classes, name="predicted")))
toy_coords.to_frame()

# %% [markdown]
# **Error severity** is the mean price `cost[predicted, true]` of the errors (and, with correct answers at 0, over
# all samples). By hand: weight each off-diagonal cell by its price.

# %%
off = ~np.eye(len(toy_classes), dtype=bool)
price = toy_cost.to_numpy().T  # price[t, p] = cost[p, t]
by_hand = (toy_cm * price)[off].sum() / toy_cm[off].sum()
severity = geo.error_severity(toy_true, toy_pred, toy_cost)
print(f"mean error cost: by hand {by_hand:.4f}, package {severity['mean_error_cost']:.4f}; over all samples "
      f"{severity['mean_cost']:.4f} ({severity['n_errors']} errors of {severity['n_samples']})")
assert np.isclose(by_hand, severity["mean_error_cost"])

# %% [markdown]
# **Affective distance** is the valence-arousal distance between an error's predicted and true class, without the
# errors from or to Other. **Quadrant preservation** asks whether the prediction has the same sign of valence and of
# arousal as the truth: the sign agreement EmoNet reports for valence and arousal {footcite:p}`toisoul2021emonet`,
# taken jointly, on class positions. Neutral sits at the origin and has no quadrant; the book's rule leaves its
# errors out and counts them (`origin="own"` makes the origin a region of its own instead).

# %%
va = toy_coords.va
placed = np.isfinite(va).all(1)
dist = np.linalg.norm(va[:, None] - va[None], axis=-1)
measured = off & placed[:, None] & placed[None, :]
distance = geo.affective_distance(toy_true, toy_pred, toy_coords)
print(f"mean error distance: by hand {(toy_cm * dist)[measured].sum() / toy_cm[measured].sum():.4f}, package "
      f"{distance['mean_distance']:.4f}; errors left out (Other): {distance['n_excluded']}")
assert np.isclose((toy_cm * dist)[measured].sum() / toy_cm[measured].sum(), distance["mean_distance"])
sign = np.sign(np.nan_to_num(va))
origin = placed & (np.abs(va).sum(1) == 0)
keep = measured & ~origin[:, None] & ~origin[None, :]
same = (sign[:, None] == sign[None, :]).all(-1)
quadrant = geo.quadrant_preservation(toy_true, toy_pred, toy_coords)
print(f"quadrant preserved: by hand {(toy_cm * same)[keep].sum() / toy_cm[keep].sum():.4f}, package "
      f"{quadrant['preserved']:.4f}; errors left out by the neutral rule: {quadrant['n_origin']}")
assert np.isclose((toy_cm * same)[keep].sum() / toy_cm[keep].sum(), quadrant["preserved"])

# %% [markdown]
# **Nearest-error rate**: the share of errors that go to the true class's nearest neighbour on the circumplex. A
# geometry-blind classifier with the same confusion totals (each true class keeps its number of errors, each class
# its number of wrong predictions) gives the baseline, by shuffling the predicted labels among the errors with a
# fixed seed. **Pair confusion**: the confusions inside a degenerate pair, both directions, and their share of the
# class's errors.

# %%
nearest = geo.nearest_error_rate(toy_true, toy_pred, toy_coords, n_permutations=N_PERMUTATIONS, seed=0)
print("nearest neighbours:", dict(nearest["nearest"]))
print(f"nearest-error rate {nearest['rate']:.3f} ({nearest['n_nearest']} of {nearest['n_measured']}); baseline "
      f"{nearest['baseline_mean']:.3f} [{nearest['baseline_low']:.3f}, {nearest['baseline_high']:.3f}], permutation "
      f"p = {nearest['pvalue']:.3f}")
nn_of = {c: degeneracy.nearest_neighbours(toy_coords).loc[c, "nearest"] for c in toy_coords.placed_only().classes}
hits = sum(toy_cm[toy_classes.index(c), toy_classes.index(n)] for c, n in nn_of.items())
print(f"by hand: {hits} of {toy_cm[measured].sum()} measured errors go to the nearest neighbour")
assert hits == nearest["n_nearest"] and toy_cm[measured].sum() == nearest["n_measured"]
pairs = geo.pair_confusion(toy_true, toy_pred, [("Anger", "Fear")], toy_classes)
anger, fear = toy_classes.index("Anger"), toy_classes.index("Fear")
assert np.isclose(pairs["rate"].iloc[0], toy_cm[anger, fear] / toy_cm[anger].sum())
pairs

# %% [markdown]
# **The soft version** prices the predicted probability mass instead of the argmax: with probabilities that put
# 0.7 on the predicted class and spread the rest evenly, the expected cost is 0.7 times the hard price plus 0.3
# times the mean price of the true class's column (the diagonal is free). **Far confusions** list which cells carry
# the error cost, next to how alike the classes' AU prototypes are (chapter 03): a frequent confusion between
# classes alike in the face but far on the circumplex is what a visual confound looks like.

# %%
k = len(toy_classes)
toy_probs = 0.7 * np.eye(k)[toy_pred] + 0.3 / k
soft = geo.expected_error_cost(toy_true, toy_probs, toy_cost)
column_mean = toy_cost.to_numpy().sum(0) / k
by_hand = np.mean(0.7 * price[toy_true, toy_pred] + 0.3 * column_mean[toy_true])
print(f"soft mean cost: by hand {by_hand:.4f}, package {soft['mean_cost']:.4f}")
assert np.isclose(by_hand, soft["mean_cost"])
geo.far_confusions(toy_cm, toy_cost, prototype_distance=costs.au_prototype_distance(toy_classes), top=5).round(3)

# %% [markdown]
# ## The study's runs
#
# The same grid as chapter 07: its lambda sweep and its grid go through the load-or-train cache, so when chapter 07
# has run, every run below is loaded, and the geometry is measured from the saved test predictions.

# %%
if LAMBDA_OT is not None:
    check_number("LAMBDA_OT", LAMBDA_OT, low=0.0)
tuning = recorded_lambda(design) if LAMBDA_OT is None else None
study, frame, sweep = chapter_study(design, TUNING_SEEDS, EXECUTOR, workers,
                                    lambda_ot=LAMBDA_OT if LAMBDA_OT is not None else
                                    (tuning["lambda_ot"] if tuning else None))
lambda_ot = study.lambda_ot
trained = int((~frame["loaded_from_cache"].astype(bool)).sum()) + (
    int((~sweep["loaded_from_cache"]).sum()) if sweep is not None else 0)
print("lambda_ot from " + ("the recorded tuning" if tuning else "this grid's sweep" if sweep is not None
                           else "LAMBDA_OT"))
sources = study.sources
source_col = "preset" if DATASET == "synthetic" else "dataset"
print(f"{len(frame)} runs ({len(sources)} sources x {len(conditions)} conditions x {len(study.seeds)} seeds), "
      f"lambda_ot = {lambda_ot}; runs trained by this chapter (missing from the cache): {trained}")
if PROFILE == "smoke":
    print("smoke profile: a tiny grid to check the code path; its numbers are NOT meaningful")

# %%
analyses_start = time.perf_counter()
geometry = study_geometry(study, n_permutations=N_PERMUTATIONS, seed=0)
geometry[source_col] = geometry["preset"] if DATASET == "synthetic" else geometry["dataset"]
print("nearest circumplex pairs (ties are all kept):",
      dict(geometry.groupby(source_col)["pairs"].first()))
summary = geometry.groupby([source_col, "condition"])[list(GEOMETRY_METRICS)].agg(["mean", "std"])
summary.round(4)

# %% [markdown]
# ## How far the errors land, per condition
#
# Every measured error of every seed, by condition: the distance between its predicted and true class.

# %%
records = []
for run in study_predictions(study):
    d = geo.affective_distance(run.y_true, run.y_pred, run.positions)  # the run's classes on the circumplex
    records += [{"source": run.source, "condition": run.condition, "distance": x} for x in d["distances"]]
errors = pd.DataFrame(records)
grid = sns.catplot(data=errors, x="condition", y="distance", col="source", kind="box", order=list(conditions),
                   height=3.5, aspect=1.3)
grid.set_axis_labels("condition", "error distance (valence-arousal units)").set_xticklabels(rotation=30)
plt.show()

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
sns.barplot(data=geometry, x="condition", y="quadrant_preserved", hue=source_col, order=list(conditions),
            errorbar="sd", ax=ax)
ax.set(ylabel="share of errors in the true quadrant", title="Quadrant preservation (mean and sd over seeds)")
ax.tick_params(axis="x", rotation=30)
plt.show()

# %% [markdown]
# The pair-confusion table: for each source's nearest circumplex pairs, the mean over seeds of each direction's
# rate and share of the true class's errors.

# %%
pair_rows = []
for run in study_predictions(study):
    top = degeneracy.degenerate_pairs(run.positions, top=1)
    table = geo.pair_confusion(run.y_true, run.y_pred, top, run.classes)
    pair_rows.append(table.assign(source=run.source, condition=run.condition, seed=run.seed))
pairs_table = pd.concat(pair_rows).groupby(["source", "pair", "true", "predicted", "condition"])[
    ["rate", "share_of_errors"]].mean()
pairs_table.round(3)

# %% [markdown]
# ## Paired comparisons between conditions
#
# Every geometry metric, every condition against `base` and against `circumplex`, paired by seed, with chapter 07's
# statistics (exact Wilcoxon, Hodges-Lehmann shift with its exact interval, Holm across the whole table). A metric
# undefined on a run (no measured error of that kind) leaves that seed out of its comparisons; the cell lists them.

# %%
geo_stats = geometry_statistics(geometry, n_resamples=999)
print(f"{len(geo_stats)} comparisons; seeds left out for an undefined metric: {geo_stats.attrs['undefined'] or 'none'}")
geo_stats[["source", "metric", "label", "n", "hl_estimate", "hl_low", "hl_high", "pvalue", "pvalue_holm"]].round(4)

# %% [markdown]
# ## The visual confound, measured
#
# Which confusions carry the error cost of the circumplex condition, summed over seeds, next to the distance between
# the two classes' AU prototypes (the faces the simulator renders, chapter 03): a large cost share with a small
# prototype distance is a confusion that is near in the face and far on the circumplex.

# %%
for source in sources:
    runs = [r for r in study_predictions(study) if r.source == source and r.condition == "circumplex"]
    keep = [r.y_true >= 0 for r in runs]
    cm = sum(confusion_matrix(r.y_true[m], r.y_pred[m], labels=range(len(r.classes))) for r, m in zip(runs, keep))
    classes = runs[0].classes
    cost = runs[0].cost  # the valence-arousal cost every run is measured with (costs.ot_cost, kind "va")
    print(source)
    display(geo.far_confusions(cm, cost, prototype_distance=costs.au_prototype_distance(classes),  # noqa: F821
                               top=6).round(3))

# %% [markdown]
# ## What the features separate
#
# The linear separability of each source's nearest pair in the penultimate features (cross-validated logistic
# regression, balanced accuracy: 0.5 is chance), its spread over seeds, and the linear CKA
# {footcite:p}`kornblith2019similarity` between each condition's features and the base model's, same seed: near 1,
# the cost left the representation as it was, up to a rotation and a scale.

# %%
folds = 2 if PROFILE == "smoke" else 5
separability = study_separability(study, cv=folds)
print(f"pairs not measured (too few test samples for {folds} folds): {int(separability['skipped'].notna().sum())}")
separability.groupby(["preset" if DATASET == "synthetic" else "dataset", "pair", "condition"])[
    "balanced_accuracy"].agg(["mean", "std", "count"]).round(3)

# %% [markdown]
# Every class pair at once, for the first source's first seed: the separability matrix of the base model's features
# and of the circumplex model's (0.5 is chance; NaN where a class has too few test samples).

# %%
matrices = {}
for run in study_predictions(study):
    if run.source == sources[0] and run.seed == study.seeds[0] and run.condition in ("base", "circumplex"):
        matrices[run.condition] = rep.separability_matrix(run.arrays["features"], run.y_true, run.classes, cv=folds)
fig, axes = plt.subplots(1, len(matrices), figsize=(6 * len(matrices), 4.5), squeeze=False)
for ax, (condition, matrix) in zip(axes[0], matrices.items()):
    sns.heatmap(matrix, vmin=0.5, vmax=1.0, annot=True, fmt=".2f", cmap="viridis", ax=ax,
                cbar_kws={"label": "balanced accuracy"})
    ax.set(title=f"{sources[0]}, {condition}, seed {study.seeds[0]}", xlabel="class", ylabel="class")
plt.tight_layout()
plt.show()

# %%
cka = study_cka(study)
cka.groupby(["source", "condition"])["cka"].agg(["mean", "std", "count"]).round(3)

# %%
first = sources[0]
views, highlight = {}, ()
for run in study_predictions(study):
    if run.source == first and run.seed == study.seeds[0]:
        keep = run.y_true >= 0
        views[run.condition] = (rep.project_2d(run.arrays["features"][keep]), run.y_true[keep])
        classes = run.classes
        highlight = tuple(geometry.loc[geometry[source_col] == first, "pairs"].iloc[0].replace(", ", "-").split("-"))
fig = rep.plot_projections(views, classes, highlight=highlight)
fig.suptitle(f"{first}, seed {study.seeds[0]}: PCA of the test features, nearest pair highlighted")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Frequency or geometry?
#
# Per-class F1 of every run, regressed on the class's log training share, its circumplex nearest-neighbour distance
# and its separability index to the least separable class in the run's features (chapter 01's index, in feature
# space). Predictors are standardized, so each coefficient is the change of F1 per standard deviation of its
# predictor with the others held fixed. Other has no circumplex position and drops out (counted).
#
# The rows are not independent observations, in two ways. First, the runs of one seed share its initial weights (and
# its data draw), so one seed's rows are correlated across conditions and sources: the standard errors are clustered
# by seed, the unit that is independent, not by run. Second, the training share and the circumplex distance take one
# value per class of a source, whatever the run: more runs add rows but no new values of these predictors, and a
# class that does better or worse than its predictors say does so in every seed, which clustering by seed cannot
# see. The honest check is therefore a second fit on the per-class means (one row per class of a source, plain OLS,
# predictors on the same scale): it has as many observations as classes. `class_regression` fits both; the cell
# prints how many seeds and classes each fit rests on and says when they are too few for its standard errors. Where
# the two disagree, believe the class-level fit.

# %%
per_class = study_class_table(study)
fit = class_regression(per_class, predictors=("log_train_share", "nn_distance", "feature_index"), groups="seed")
print(f"{fit.attrs['formula']}: {fit.attrs['n']} rows (left out: {fit.attrs['n_dropped']}) from "
      f"{fit.attrs['n_clusters']} seeds and {fit.attrs['n_classes']} classes")
for name, part in fit.groupby("fit", sort=False):
    head = part.iloc[0]
    print(f"  fit on {name}: n = {head['n']}, {head['cov']} standard errors, t on {head['df']:g} degrees of freedom, "
          f"R^2 = {fit.attrs['r_squared'][name]:.3f}" + (f"; WARNING: {head['warning']}" if head["warning"] else ""))
fit.drop(columns="warning").round(4)

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for shift, (name, part) in zip((-0.12, 0.12), fit.groupby("fit", sort=False)):
    effects = part[part.term != "const"]
    ax.errorbar(effects["estimate"], np.arange(len(effects)) + shift, fmt="o",
                xerr=[effects["estimate"] - effects["ci_low"], effects["ci_high"] - effects["estimate"]],
                label=f"{name} ({effects['cov'].iloc[0]})")
ax.axvline(0, color="k", lw=0.8)
ax.set_yticks(range(len(effects)), effects["term"])
ax.set(xlabel="change of per-class F1 per standard deviation (95% interval)", title="Partial effects")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The study's geometry claims, tested
#
# `geometry-nearer-affwild2`: on Aff-Wild2 the circumplex cost puts the errors nearer the truth, tested as "base's
# mean error distance is larger than circumplex's" (an exact one-sided Wilcoxon test by seed, chapter 07's rule;
# its contrary: the difference is below `DISTANCE_MARGIN`, the smallest effect of interest here).
# `geometry-not-affectnet`: on AffectNet it does not, tested as equivalence of the mean error distance within
# `DISTANCE_MARGIN` valence-arousal units (exact TOST), since a large p of a difference test is not evidence of no
# effect. The margin is an assumption of this chapter; the cell prints it next to the distance between classes.

# %%
where = f"simulator:{','.join(sources)}" if DATASET == "synthetic" else DATASET
defined = geometry[np.isfinite(geometry["error_distance"])]
print(f"runs without a measured error distance, left out of the verdicts: {len(geometry) - len(defined)}")
for run in study_predictions(study):
    if run.source == "affectnet":
        spread = degeneracy.degenerate_pairs(run.positions)
        print(f"DISTANCE_MARGIN = {DISTANCE_MARGIN} valence-arousal units; distance between two affectnet classes: "
              f"median {spread['distance'].median():.3f}, smallest {spread['distance'].min():.3f}")
        break
claims = claim_verdicts(defined, CHAPTER_08_TESTS, {"error_distance": DISTANCE_MARGIN}, ALPHA)
for claim, verdict in claims.items():
    write_claim(claim, verdict, PROFILE, where, chapter="08")
    print(f"{claim}: {verdict_text(verdict)}  ({verdict['rule']})")
if not claims:
    print("neither affwild2 nor affectnet is among the sources: no geometry claim is tested")
if PROFILE == "smoke":
    print("smoke profile: these verdicts test the code path only; the numbers are NOT meaningful")
print(f"the analyses of the study's runs took {time.perf_counter() - analyses_start:.1f} s (without any training)")
verdicts_frame(claims, ("n", "mean_difference", "hl_estimate", "hl_low", "hl_high", "hl_coverage", "p_claimed",
                        "p_contrary_holm", "p_tost", "p_outside_holm")).round(5)

# %% [markdown]
# ## This run beside the recorded study
#
# The book's recorded `cpu` study (chapter 07) saved each run's error geometry (`geometry.csv`). Its verdicts on the
# two geometry claims are recomputed here from those rows by the same rule, beside this run's, each with its number
# of seeds, and with the seeds a decision needs at the recorded spread (the power plan of chapter 07, here with
# `DISTANCE_MARGIN` as the smallest effect of interest).

# %%
try:
    recorded = load_recorded("cpu", RECORDED) if RECORDED else None
except FileNotFoundError as err:
    recorded = None
    print(f"no recorded study ({err})")
if recorded is not None and recorded.geometry is not None:
    print(recorded.describe())
    rec_geometry = recorded.geometry[np.isfinite(recorded.geometry["error_distance"])]
    margins = {"error_distance": recorded.statistics["distance_margin"]}
    rec_claims = claim_verdicts(rec_geometry, CHAPTER_08_TESTS, margins, recorded.statistics["alpha"])
    for claim, verdict in rec_claims.items():
        assert verdict["verdict"] == recorded.statistics["geometry_verdicts"][claim]["verdict"], claim
    display(pd.DataFrame([{"claim": c.claim, "this run": verdict_text(claims[c.claim]) if c.claim in claims else
                           "not in this grid", "recorded": verdict_text(rec_claims[c.claim]) if c.claim in rec_claims
                           else "not in the recorded grid"} for c in CHAPTER_08_TESTS]).set_index("claim"))  # noqa: F821
    display(verdicts_frame(rec_claims, ("n", "mean_difference", "hl_estimate", "hl_low", "hl_high", "hl_coverage",  # noqa: F821
                                        "p_claimed", "p_contrary_holm", "p_tost", "p_outside_holm")).round(5))
    display(power_plan(rec_geometry, CHAPTER_08_TESTS, margins, alpha=ALPHA).set_index(["claim", "part"])  # noqa: F821
            .round(4))

# %% [markdown]
# ## Summary
#
# - Each error-geometry metric was computed by hand on a small confusion matrix and by `affect_book.geometry`; the
#   cells assert that the two agree.
# - On the study's runs, every metric was compared between conditions, paired by seed, with chapter 07's exact
#   statistics; the tables above give the shifts and p-values this run produced.
# - The features were probed directly (linear separability of the nearest pairs, CKA against the base model) and
#   per-class F1 was regressed on frequency and on geometry together, twice: the runs' rows with standard errors
#   clustered by seed, and the per-class means, since the class-level predictors give only as many observations as
#   classes.
# - The two geometry claims got computed verdicts, written to the claim files; in `smoke` they are not meaningful.
#
# ## Exercises
#
# Try each exercise before opening its solution. *Predict* exercises ask you to write your prediction down first.

# %% [markdown] tags=["exercise", "predict"]
# **1.** In the hand-made matrix, move all of Anger's errors onto Fear. Predict whether the nearest-error rate and
# the mean error distance go up or down, then compute both.

# %% tags=["solution"] jupyter={"source_hidden": true}
moved = toy_cm.copy()
moved[anger, fear] += moved[anger].sum() - moved[anger, anger] - moved[anger, fear]
moved[anger, [j for j in range(k) if j not in (anger, fear)]] = 0
t1, p1 = np.nonzero(moved)
y1, q1 = np.repeat(t1, moved[t1, p1]), np.repeat(p1, moved[t1, p1])
print(f"nearest-error rate {nearest['rate']:.3f} -> "
      f"{geo.nearest_error_rate(y1, q1, toy_coords, n_permutations=19)['rate']:.3f}; mean distance "
      f"{distance['mean_distance']:.3f} -> {geo.affective_distance(y1, q1, toy_coords)['mean_distance']:.3f}")

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** Why does the nearest-error baseline shuffle the predicted labels *among the errors* instead of drawing each
# wrong prediction uniformly from the other classes?

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# A classifier that predicts Neutral often will send many errors to Neutral whatever the geometry; if Neutral is
# some class's nearest neighbour, that class's nearest-error rate is high for a reason that has nothing to do with
# the circumplex. Shuffling among the errors keeps how often each class is predicted wrongly and how many errors
# each class makes, so only the pairing of the two (which is what geometry would change) is randomized. A uniform
# draw would credit geometry with the classifier's bias towards frequent classes.

# %% [markdown] tags=["exercise", "computational"]
# **3.** Recompute the quadrant preservation of the hand-made matrix with `origin="own"` and explain the change.

# %% tags=["solution"] jupyter={"source_hidden": true}
own = geo.quadrant_preservation(toy_true, toy_pred, toy_coords, origin="own")
print(f"exclude: {quadrant['preserved']:.3f} over {quadrant['n_measured']} errors; own: {own['preserved']:.3f} "
      f"over {own['n_measured']} errors (the {quadrant['n_origin']} errors from or to Neutral now count as leaving "
      f"the quadrant)")

# %% [markdown] tags=["exercise", "computational"]
# **4.** Check `linear_cka` on the study's features: the CKA of a run's features with themselves after a random
# rotation and a scaling must be 1, and with the features of a different seed of the same condition it is what?

# %% tags=["solution"] jupyter={"source_hidden": true}
from scipy.stats import ortho_group

runs4 = [r for r in study_predictions(study) if r.source == first and r.condition == "base"]
x4 = runs4[0].arrays["features"]
q4 = ortho_group.rvs(x4.shape[1], random_state=0)
print(f"rotated and scaled: {rep.linear_cka(x4, 3.0 * x4 @ q4):.6f}; another seed of base: "
      f"{rep.linear_cka(x4, runs4[1].arrays['features']):.3f}")

# %% [markdown] tags=["exercise", "open-ended"]
# **5.** The regression above pools presets and conditions. Fit it per condition: does the partial effect of the
# circumplex nearest-neighbour distance change when the circumplex cost is in the loss? What would you need (more
# seeds, more classes, real data) before reading anything into the difference?

# %% tags=["solution"] jupyter={"source_hidden": true}
for condition, rows5 in per_class.groupby("condition"):
    try:
        fit5 = class_regression(rows5, predictors=("log_train_share", "nn_distance"), groups="seed")
    except ValueError as err:
        print(f"{condition}: not estimable ({err})")
        continue
    for name, part in fit5.groupby("fit", sort=False):
        row = part.set_index("term").loc["nn_distance"]
        units = f"{row['n_clusters']} {'seeds' if name == 'runs' else 'classes'}"
        print(f"{condition}, fit on {name} (n = {row['n']}, {units}): nn_distance effect {row['estimate']:.3f} "
              f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# Per condition there are only a few runs, each contributing one row per class, and the predictors vary across
# classes but barely across runs: the effective sample is closer to the number of classes times the number of
# sources than to the number of rows, which is what the fit on the class means shows, and the rows' errors are
# clustered on only the study's few seeds; so do not read much into the printed intervals. More classes, more
# sources and more seeds all help; real data also bring real faces and real confusions, which the simulator only
# imitates.

# %% [markdown]
# ## Where to go next
#
# Rerun with `DATASET` and `DATA_ROOT` on a licensed copy: the same analyses read its runs of chapter 07. The claim
# tracker of the preface lists which of the study's claims have a verdict, and from which profile and data.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
