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
# affect?** It follows a recent study, *The Circumplex Degeneracy Behind the Rare-Class Limit in Affect
# Recognition* (arXiv 2606.15763, 2026), whose abstract argues that the rare classes fail because they sit almost on
# top of each other on Russell's valence-arousal circumplex, and that pricing their confusions with an
# optimal-transport cost does not separate them. Only the abstract is public; the book rebuilds the study's pieces
# and lets you test its claims yourself.
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
# The study used **AffectNet** and **Aff-Wild2**. Both are licence-gated: this book cannot ship them, and the
# chapters never download anything. Every chapter runs end to end on an **embedded default**, a face simulator
# inside the package (chapter 03) whose causes (class frequency, closeness on the circumplex, visual similarity, a
# visual confound) can be switched on and off one at a time. A reader with licensed copies points a chapter at
# them with its `DATA_ROOT` parameter. Without them, where a claim needs real data this book says so rather than
# borrowing a number.
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
#
# ## Summary
#
# - Run the book with `make book`, the tests with `make test`; rerun a chapter with papermill and `-p` parameters.
# - `PROFILE` is `smoke`, `cpu` or `gpu`, defined once for the whole book.
# - Results are cached by configuration hash; nothing is downloaded; real benchmarks come from your own copies.
#
# ## Exercise
#
# Rerun this preface with `-p PROFILE gpu` and with a misspelt profile such as `-p PROFILE gpus`. What does each
# print, and where does the second one stop?
