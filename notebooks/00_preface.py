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
# # 00 · Preface: how to use this book
#
# This book asks one question of affect recognition and answers it with code you can run: **why do rare facial
# expressions (anger, fear, disgust, contempt) keep failing in the wild — is it class imbalance, or the geometry of
# affect?** It follows a recent study, *The Circumplex Degeneracy Behind the Rare-Class Limit in Affect Recognition*
# (arXiv 2606.15763, 2026) {footcite:p}`study2026circumplex`, whose abstract argues that the rare classes fail because
# they sit almost on top of each other on Russell's valence-arousal circumplex {footcite:p}`russell1980circumplex`,
# and that pricing their confusions with an optimal-transport cost does not separate them. Only the abstract is
# public; the book rebuilds the study's pieces and lets you test its claims yourself.
#
# **You will learn** how to run the chapters, what the profiles mean, where results are cached, and what data the
# book can and cannot use; the notation every chapter shares; and where each claim of the study stands (the claim
# tracker). **Time:** seconds on any machine.
#
# ## Before you start: prerequisites
#
# - **Python**: functions, classes, dictionaries, list comprehensions; reading a traceback.
# - **NumPy and pandas**: arrays, broadcasting, indexing with boolean masks; data frames, `groupby`, `pivot`.
# - **PyTorch basics** (from chapter 04 on): tensors, `autograd`, a training loop with an optimiser. The book
#   explains every loss it uses, not the framework.
# - **Mathematics**: probability distributions over a few classes, the softmax, a gradient and the chain rule,
#   Euclidean distance in the plane. Optimal transport is introduced from scratch in chapter 04.
# - **Statistics** (chapters 07 and later): a paired comparison, a p-value, a confidence interval.
# - **No psychology is assumed**: the valence-arousal circumplex and the Facial Action Coding System are introduced
#   in chapters 01 and 03.
#
# ## Three ways to read it
#
# 1. **In JupyterLab.** `make lab` opens the `notebooks/` folder. Each chapter is a pair: `NN_slug.py` is the source
#    (plain Python in *percent* format, easy to diff and review) and `NN_slug.ipynb` is the notebook you open. The
#    pair stays in sync through jupytext: edit either one in JupyterLab and the other follows on save.
# 2. **As a website.** `make book` executes every chapter and builds the HTML book in `_build/html/`.
# 3. **With papermill**, to rerun a chapter with other parameters, e.g.
#    `papermill notebooks/01_circumplex.ipynb out.ipynb -k python3 -p PROFILE smoke -p COORDINATES russell1980`,
#    or through the book runner: `python -m affect_book.site.book --only 01 -p COORDINATES russell1980`.
#
# Every chapter has one cell tagged `parameters` that holds only literal values; the cell after it checks them, so
# a typo fails at the top of the chapter with the list of valid values.
#
# ## Profiles
#
# `PROFILE` sets every size in every chapter, from one table in `affect_book/profiles.py`: `smoke` is what CI runs
# (seconds per chapter; its numbers are not meant to be read), `cpu` gives meaningful results on a laptop in minutes
# per chapter, and `gpu` is the full scale the study's questions deserve.

# %% tags=["parameters"]
PROFILE = "cpu"

# %%
import platform

import numpy as np
import pandas as pd
import torch

import affect_book
from affect_book.cache import cache_root
from affect_book.device import choose_device
from affect_book.profiles import get_profile, profiles_table

profile = get_profile(PROFILE)
print(f"profile: {profile.name} ({profile.description})")

# %% [markdown]
# The profiles side by side (images per split, resolution, epochs, seeds of the controlled study):

# %%
profiles_table()

# %% [markdown]
# ## CPU or GPU
#
# The chapters choose a device with `choose_device("auto")`: a CUDA GPU if there is one, then Apple's MPS, then the
# CPU, and they say so when they fall back to the CPU. The `smoke` and `cpu` profiles are sized for a CPU; the
# `gpu` profile wants a CUDA GPU. The cell below reports what this machine has.

# %%
device = choose_device("auto")
print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
      f"torch {torch.__version__}, affect_book {affect_book.__version__}")
print(f"device: {device}")

# %% [markdown]
# ## Where results are cached
#
# Trained models and study results are cached on disk, keyed by a hash of their full configuration, so a chapter
# that needs a model another chapter trained loads it instead of training again, and an interrupted run resumes.
# The cache lives under `$AFFECT_BOOK_CACHE` when that variable is set, otherwise under your user cache folder:

# %%
print(f"cache root: {cache_root()}")

# %% [markdown]
# ## The data, honestly
#
# The study used **AffectNet** {footcite:p}`mollahosseini2017affectnet` and **Aff-Wild2**
# {footcite:p}`kollias2019expression`. Both are licence-gated: this book cannot ship them, and the chapters never
# download anything. Every chapter runs end to end on an **embedded default**, a face simulator inside the package
# (chapter 03) whose causes (class frequency, closeness on the circumplex, visual similarity, a visual confound) can
# be switched on and off one at a time. A reader with licensed copies points a chapter at them with its `DATA_ROOT`
# parameter. Without them, where a claim needs real data this book says so rather than borrowing a number.
#
# What the simulator can tell you is how a mechanism behaves when you control its causes; what it cannot tell you
# is how strong that mechanism is in real faces.
#
# ## Notation
#
# Every chapter and every function of the package uses these symbols, with these orientations.
#
# | Symbol | Meaning | Package |
# |---|---|---|
# | `K`; `j`; `y` | number of classes; a *predicted* class; the *true* class | label order |
# | `z`; `p = softmax(z)` | logits; predicted probabilities, a point of the simplex | `logits`; `probs` |
# | `e_y` | one-hot vector of the true class (a hard label as a distribution) | `targets` (indices) |
# | `C[j, y]` | cost of predicting `j` when the truth is `y`: **rows predicted, columns true** | `costs` |
# | `W = W_C(p, e_y)` | the OT term; for a hard label `W = sum_j p_j C[j, y]` | `losses.expected_cost` |
# | `s` | the uniform cost's scale, `C = s (1 - I)`; matched: the mean off-diagonal cost | `costs.uniform_cost` |
# | `lambda` | weight of the OT term in the loss `CE + lambda W` | `lambda_ot` |
# | `(v, a)` | valence and arousal, each in [-1, 1] (Russell's circumplex) | `circumplex` |
# | `CCC(x, y)` | Lin's concordance correlation `2 s_xy / (s_x^2 + s_y^2 + (x_bar - y_bar)^2)` | `metrics.ccc` |
#
# In the CCC, `x` are the predictions and `y` the labels (valence or arousal, not the class `y` above), `x_bar` and
# `y_bar` their means, `s_x^2` and `s_y^2` their variances and `s_xy` their covariance, all population moments
# (divided by `n`). `costs.ot_cost` returns `C` as a data frame with index "predicted" and columns "true"; the
# trainer's configuration names the OT weight `lambda_ot`.
#
# The orientation of `C` matters whenever a cost is not symmetric (the uniform-column control of chapter 04 is
# not): the cell below checks it on the package's own objects.

# %%
from affect_book import costs
from affect_book import losses as L

cost = costs.ot_cost(["Anger", "Fear", "Happy"], "va")
assert (cost.index.name, cost.columns.name) == ("predicted", "true")
p = torch.softmax(torch.tensor([[2.0, 1.0, 0.0]], dtype=torch.float64), dim=1)  # p = softmax(z)
by_hand = float((p[0] * torch.tensor(cost["Anger"].to_numpy())).sum())  # sum_j p_j C[j, y], y = Anger
W = float(L.expected_cost(p.log(), torch.tensor([0]), cost))
assert abs(W - by_hand) < 1e-12
print(f"p = {np.round(p[0].numpy(), 3)}, true class Anger: W = sum_j p_j C[j, Anger] = {W:.4f}")

# %% [markdown]
# ## The claim tracker
#
# The study's abstract makes the claims below; the book tests each in a later chapter. The **status** column is never
# typed: `affect_book.analysis.claims` reads it from a verdict file that the testing chapter writes once it has computed
# its evidence (under `cache_root()/claims/<profile>/`, the contract in the module's docstring), and a claim without one
# is "not run yet". The column "the study reports" quotes the study's numbers, not the book's. Rerun this cell after the
# study chapters to see their verdicts for the profile you ran. Each verdict comes with its number of seeds `n`:
# `reproduced` and `not reproduced` are decisions, `inconclusive` means the seeds could have decided and did not,
# and `undecidable at n = k (needs >= m seeds)` means they could not have refuted the claim at all. The last column
# is the verdict of the book's recorded `cpu` studies (`docs/results/cpu/`, each run once with more seeds than a
# chapter's own run: chapter 07's grid, whose spread gives the power plan, and chapter 09's factorial), read from
# their committed statistics, beside whatever your own run found.

# %%
from affect_book.analysis import claims_table, study_results

stores = study_results()
print(f"study results stores in the cache: {len(stores)}; verdicts shown for profile {PROFILE!r}")
with pd.option_context("display.max_colwidth", None):
    display(claims_table(PROFILE))

# %% [markdown]
# ## Map of the book
#
# - **01 Russell's circumplex**: published valence-arousal coordinates, the distances that an optimal-transport
#   cost will charge, and which expression classes are degenerate.
# - **02 Class frequencies**: how rare the rare classes are, measured three ways, beside their degeneracy.
# - **03 Faces from action units**: the face simulator, its presets and knobs, and what it can and cannot tell.
# - **04 Optimal transport**: the OT term, its closed form for hard labels, and the uniform cost as a control.
# - **05 The multi-task model**: expression, valence-arousal and action-unit heads, CCC, the ABAW score.
# - **06 Training at scale**: the trainer, its cache, exact resume, and what changes on a GPU.
# - **07 The controlled study**: the grid of conditions and seeds, exact paired tests, and a computed verdict on
#   each of the study's claims.
# - **08 Error geometry**: where the errors land on the circumplex, and whether the cost moves them nearer the truth.
# - **09 Beyond the cost**: the causes the benchmarks confound, varied one at a time on the simulator, and
#   representation fixes against cost fixes.
#
# ## Summary
#
# - Run the book with `make book`, the tests with `make test`; rerun a chapter with papermill and `-p` parameters.
# - `PROFILE` is `smoke`, `cpu` or `gpu`, defined once for the whole book.
# - Results are cached by configuration hash; nothing is downloaded; real benchmarks come from your own copies.
# - One notation throughout: `C[j, y]` rows predicted, columns true; `p = softmax(z)`; `W = sum_j p_j C[j, y]`.
# - The claim tracker shows each claim's status as computed by the chapter that tests it, "not run yet" before.
#
# ## Exercises
#
# Each exercise is followed by a worked solution, collapsed in JupyterLab and hidden behind a toggle in the HTML
# book: try the exercise first. *Predict* exercises ask you to write your prediction down before the solution cell
# computes the answer.

# %% [markdown] tags=["exercise", "predict"]
# **1.** You rerun this preface with `-p PROFILE gpus` (a typo). Predict, before running the cell below: does the
# chapter stop, at which line, with which kind of error, and does the message help you fix the typo?

# %% tags=["solution"] jupyter={"source_hidden": true}
from affect_book.params import ParameterError

try:
    get_profile("gpus")
except ParameterError as err:
    print(f"stops in get_profile, the first line of the chapter's code cell, with {type(err).__name__}:\n  {err}")
    print(f"ParameterError is a ValueError: {issubclass(ParameterError, ValueError)}")

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** The cache keys a trained model on a hash of its *full* configuration, not on a file name such as
# `model_cpu.pt`. Name two ways a file-name key would silently give you a wrong result that a configuration hash
# cannot.

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Answer.* (i) **A stale model after a change.** Change the loss, the cost matrix, the seed or the data set and a
# file called `model_cpu.pt` is still there: the chapter would load a model trained on the old setting and report
# its numbers as the new one's. A hash of the full configuration changes whenever any field changes, so the new
# setting misses the cache and trains. (ii) **Two settings colliding.** Two chapters (or two readers sharing a
# cache) that train different models under the same name overwrite each other; with a hash each configuration has
# its own folder, and equal configurations share one on purpose, which is how a later chapter reuses a model an
# earlier one trained. The price: a field that does not change the result (a log path, say) must stay out of the
# configuration, or it splits the cache needlessly.

# %% [markdown] tags=["exercise", "computational"]
# **3.** How much bigger is the `gpu` profile than `smoke`? From `affect_book.profiles.PROFILES`, compute for each
# profile the number of image presentations in training (`n_train * epochs`) and the pixels per image
# (`image_size ** 2`), and each as a multiple of `smoke`.

# %% tags=["solution"] jupyter={"source_hidden": true}
from affect_book.profiles import PROFILES

scale = pd.DataFrame({name: {"images x epochs": p.n_train * p.epochs, "pixels per image": p.image_size ** 2}
                      for name, p in PROFILES.items()}).T
for column in list(scale.columns):
    scale[f"{column} / smoke"] = scale[column] / scale.loc["smoke", column]
scale

# %% [markdown] tags=["exercise", "computational"]
# **4.** `affect_book.cache.config_hash` turns a configuration into a cache key. Check three things with it: that
# the key does not depend on the order of a dictionary's keys; that it changes when one value changes; and whether
# the integer `1` and the float `1.0` give the same key. Where would the cached result live (`run_dir`)?

# %% tags=["solution"] jupyter={"source_hidden": true}
from affect_book.cache import config_hash, run_dir

base = {"loss": "ce+ot", "lam": 1, "seed": 0}
checks = {
    "same keys, other order": config_hash({"seed": 0, "lam": 1, "loss": "ce+ot"}) == config_hash(base),
    "seed 0 -> 1": config_hash({**base, "seed": 1}) == config_hash(base),
    "lam 1 -> 1.0": config_hash({**base, "lam": 1.0}) == config_hash(base),
}
for what, same in checks.items():
    print(f"{what:24s} same key: {same}")
print("cached under:", run_dir("example", base))

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# The integer and the float give different keys (the configuration is written as JSON, where `1` and `1.0` are
# different text), so a parameter should keep one type: the chapters' parameters cells hold literals of a fixed
# type for that reason.

# %% [markdown] tags=["exercise", "open-ended"]
# **5.** The simulator lets you switch the causes of rare-class failure on and off; the licensed benchmarks do not.
# Pick one claim of the study (for instance "the rare classes fail because they are near-duplicates on the
# circumplex") and sketch an experiment that tests it: what would you run on the simulator, what would you need
# from real data, and what result would make you reject the claim?

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *One possible answer.* On the simulator: generate two versions of the same data that differ only in the
# geometry knob (rare classes placed at their published, nearly coincident points versus moved apart), keep
# frequencies and visual similarity fixed, train the same model on both with several seeds, and compare the rare
# classes' recall with a paired test. If moving the classes apart does not raise their recall, geometry is not the
# cause *in the simulator*. The simulator cannot say how strong the effect is in faces: for that, the same model on
# AffectNet or Aff-Wild2, with the rare classes' per-class recall beside their measured degeneracy (chapter 01) and
# frequency (chapter 02), across seeds. Reject the claim if, on real data, recall tracks frequency and not
# closeness once the two are separated (e.g. a frequent degenerate pair that does fine, a rare well-separated
# class that fails).

# %% [markdown]
# ## Where to go next
#
# Start with chapter 01, which places the expression classes on Russell's circumplex and finds the degenerate pairs
# by computation. Readers who want the training code first can read chapter 06, which uses only what the earlier
# chapters built.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
