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
# book can and cannot use. **Time:** seconds on any machine.
#
# ## Three ways to read it
#
# 1. **In JupyterLab.** `make lab` opens the `notebooks/` folder. Each chapter is a pair: `NN_slug.py` is the source
#    (plain Python in *percent* format, easy to diff and review) and `NN_slug.ipynb` is the notebook you open. The
#    pair stays in sync through jupytext: edit either one in JupyterLab and the other follows on save.
# 2. **As a website.** `make book` executes every chapter and builds the HTML book in `_build/html/`.
# 3. **With papermill**, to rerun a chapter with other parameters, e.g.
#    `papermill notebooks/01_circumplex.ipynb out.ipynb -k python3 -p PROFILE smoke -p COORDINATES russell1980`,
#    or through the book runner: `python -m affect_book.book --only 01 -p COORDINATES russell1980`.
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
#
# ## Summary
#
# - Run the book with `make book`, the tests with `make test`; rerun a chapter with papermill and `-p` parameters.
# - `PROFILE` is `smoke`, `cpu` or `gpu`, defined once for the whole book.
# - Results are cached by configuration hash; nothing is downloaded; real benchmarks come from your own copies.
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
