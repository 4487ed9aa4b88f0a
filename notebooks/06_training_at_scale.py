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
# # 06 · Training at scale: the loop, the cache, checkpoints and GPUs
#
# The study's results {footcite:p}`study2026circumplex` are averages over many training runs (several losses, several
# seeds). That only works if a run is cheap to repeat, safe to interrupt, and never repeated by accident. This chapter
# opens the trainer of `affect_book/trainer/`.
#
# **You will learn** what a training loop does, in a few bare lines and then in the package's `train`; how
# load-or-train caching keys a run on a hash of its whole configuration and of its data; how a run interrupted mid-way
# resumes from its checkpoint and ends with exactly the weights of an uninterrupted run; what changes on a GPU (bf16
# autocast, channels-last, `torch.compile`, several GPUs with `torchrun`); how fast the trainer runs here; and how to
# point the same code at AffectNet {footcite:p}`mollahosseini2017affectnet` or Aff-Wild2
# {footcite:p}`kollias2019expression`. **Time:** under a minute in `smoke`; minutes in `cpu` (the base run of chapter
# 05 is reused from the cache when it is there).

# %% tags=["parameters"]
PROFILE = "cpu"
DATASET = "synthetic"  # "synthetic" (the simulator) or a licensed copy: "affectnet", "affwild2", "manifest"
DATA_ROOT = None  # folder of the licensed copy; None uses the simulator
PRESET = "affwild2"  # simulator preset, used when DATASET is "synthetic"
SEED = 0
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # None: the profile's (2 in smoke)
WIDTH = None  # small-CNN width; None: the profile's (8 smoke, 16 cpu, 32 gpu)
RESUME_IMAGES = 512  # training images of the interrupt-and-resume demonstration (small: it trains twice)

# %%
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from affect_book.cache import cache_root, config_hash
from affect_book.data import check_data_parameters
from affect_book.data.base import ArrayDataset
from affect_book.data.sources import load_splits
from affect_book.device import seed_everything
from affect_book.models import build_model
from affect_book.params import check_number
from affect_book.profiles import get_profile
from affect_book.trainer import TrainConfig, check_run_parameters, multitask_loss, run_key, train

# the run's parameters (EPOCHS and WIDTH None: the profile's), then the data's, checked as every chapter does
profile, epochs, width = check_run_parameters(PROFILE, SEED, DEVICE, EPOCHS, WIDTH)
data_root = check_data_parameters(DATASET, DATA_ROOT, preset=PRESET)
check_number("RESUME_IMAGES", RESUME_IMAGES, low=16, integer=True)
sns.set_theme(context="notebook", style="whitegrid")
pd.set_option("display.precision", 3)

# %% [markdown]
# ## The data
#
# By default the simulator's Aff-Wild2-like preset (chapter 03). With `DATA_ROOT` set, the same call reads a
# licensed copy instead. For AffectNet and Aff-Wild2 the official **validation split doubles as the test split**:
# their test labels were never released, so published numbers are validation numbers, and choosing the best epoch
# on the split one reports is optimistic. The book says so wherever it reports them.

# %%
if data_root is None:
    splits = load_splits("synthetic", profile=profile.name, preset=PRESET, progress=False)
    data_options = {"preset": PRESET}
else:
    splits = load_splits(DATASET, root=data_root, profile=profile.name)
    data_options = {}
train_set, val_set, test_set = splits["train"], splits["val"], splits["test"]
classes = tuple(train_set.classes)
print(f"{DATASET}: {len(train_set)} train, {len(val_set)} val, {len(test_set)} test images; classes {list(classes)}")
if test_set is val_set:
    print("test = val: this source has no released test labels")

# %% [markdown]
# ## The loop, bare
#
# Every step of training does the same five things: take a batch, run the network, compute the loss, back-propagate,
# step the optimiser. Here they are on a few batches, with the multi-task loss of chapter 05:

# %%
seed_everything(SEED)
bare_config = TrainConfig(classes=classes, width=width)
net = build_model("small_cnn", len(classes), width=width)
optimiser = torch.optim.AdamW(net.parameters(), lr=bare_config.lr)
first = slice(0, 256)  # a few batches' worth of the training set
images = torch.from_numpy(train_set.images[first].transpose(0, 3, 1, 2).copy())
labels = {"expression": torch.from_numpy(train_set.expression[first]), "va": torch.from_numpy(train_set.va[first]),
          "au": torch.from_numpy(train_set.au[first])}
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))
bare_losses = []
for step in range(4):
    idx = order[step * 64:(step + 1) * 64]                       # 1. a batch
    out = net(images[idx])                                        # 2. forward
    loss, _ = multitask_loss(out, {k: v[idx] for k, v in labels.items()}, bare_config, None)  # 3. loss
    optimiser.zero_grad()
    loss.backward()                                               # 4. backward
    optimiser.step()                                              # 5. step
    bare_losses.append(loss.item())
print("loss per step:", [round(v, 3) for v in bare_losses])

# %% [markdown]
# The package's `train` adds what a real run needs around those lines: shuffling and augmentation (a random
# left-right flip and a random shift of up to `crop` = 1/8 of the image side, `affect_book.data.batches`) drawn
# from generators seeded by (seed, epoch); a warm-up then cosine learning-rate schedule; gradient clipping;
# validation after each epoch, with the best epoch kept by validation `P_MTL`; a per-epoch `log.csv`; a checkpoint
# after each epoch, written atomically (to a temporary file, then renamed); a stop with a clear error, and no
# "finished" record, when a loss becomes NaN or infinite; test predictions saved at the end; and the measured
# training throughput.
#
# ## Load or train: the cache is keyed on the configuration and the data
#
# A run's folder is named by a hash of its **whole** `TrainConfig` together with fingerprints of its training,
# validation and test sets (a digest of their labels and images), the run key; a finished run found there is
# loaded, not retrained. A lock on the folder makes a second process that asks for the same run wait, then load
# it. The configuration below is chapter 05's base model, so if chapter 05 has run, the first call loads it.

# %%
config = TrainConfig(classes=classes, dataset=DATASET, data=tuple(sorted(data_options.items())), epochs=epochs,
                     batch_size=profile.batch_size, width=width, profile=profile.name, device=DEVICE, seed=SEED,
                     lambda_ot=0.0)
start = time.perf_counter()
result = train(config, train_set, val_set, test_set)
first_seconds = time.perf_counter() - start
start = time.perf_counter()
again = train(config, train_set, val_set, test_set)
second_seconds = time.perf_counter() - start
assert again.loaded_from_cache and again.run_dir == result.run_dir
print(f"cache root: {cache_root()}")
print(f"run dir: {result.run_dir} (run key {result.run_key}; config hash {result.config_hash})")
print(f"first call: {'loaded' if result.loaded_from_cache else 'trained'} in {first_seconds:.1f} s; "
      f"second call: loaded_from_cache={again.loaded_from_cache} in {second_seconds:.2f} s")
print("files:", sorted(p.name for p in result.run_dir.iterdir()))

# %% [markdown]
# One changed field, any field, is a different run; so is one changed label:

# %%
changed = dataclasses.replace(config, lr=config.lr / 2)
assert config_hash(changed) != config_hash(config)
assert config_hash(dataclasses.replace(config)) == config_hash(config)
print(f"lr {config.lr} -> hash {config_hash(config)}; lr {changed.lr} -> hash {config_hash(changed)}")
relabelled = ArrayDataset(train_set.images, train_set.expression.copy(), train_set.va, train_set.au,
                          train_set.subject, train_set.classes, train_set.source)
relabelled.expression[0] = (relabelled.expression[0] + 1) % len(classes)
edited_key = run_key(config, relabelled, val_set, test_set)
assert edited_key != result.run_key
print(f"one training label changed -> run key {edited_key} instead of {result.run_key}")

# %% [markdown]
# ## Interrupted and resumed: the same weights
#
# A long run will be interrupted (a closed laptop, a pre-empted GPU). After each epoch the trainer saves the model,
# the optimiser, the scheduler and every random-number state; called again with the same configuration it resumes
# after the last finished epoch. Because shuffling and augmentation are drawn from generators seeded by
# (seed, epoch), the resumed run should end with **exactly** the weights of a run that was never interrupted. Here
# `stop_after_epoch=1` raises `KeyboardInterrupt` after the first of two epochs, as Ctrl-C would; both runs live in
# fresh temporary folders (and on a small slice of the data) so that both really train.

# %%
def first_rows(ds: ArrayDataset, n: int) -> ArrayDataset:
    return ArrayDataset(ds.images[:n], ds.expression[:n], ds.va[:n], ds.au[:n], ds.subject[:n], ds.classes,
                        ds.source)


small_train, small_val = first_rows(train_set, RESUME_IMAGES), first_rows(val_set, RESUME_IMAGES // 2)
resume_config = dataclasses.replace(config, epochs=2, batch_size=64, device="cpu")
with tempfile.TemporaryDirectory() as interrupted_root, tempfile.TemporaryDirectory() as straight_root:
    try:
        train(resume_config, small_train, small_val, small_val, root=Path(interrupted_root), stop_after_epoch=1)
        raise AssertionError("the run was expected to stop after epoch 1")
    except KeyboardInterrupt as stop:
        print(f"interrupted: {stop}")
    left = sorted(p.name for p in (Path(interrupted_root) / run_key(resume_config, small_train, small_val,
                                                                    small_val)).iterdir())
    print(f"left on disk: {left}")
    resumed = train(resume_config, small_train, small_val, small_val, root=Path(interrupted_root))
    straight = train(resume_config, small_train, small_val, small_val, root=Path(straight_root), progress=False)
    a, b = resumed.model_state(), straight.model_state()
    identical = all(torch.equal(a[k], b[k]) for k in a)
    same_logits = np.array_equal(resumed.predictions()["logits"], straight.predictions()["logits"])
assert identical and same_logits
print(f"resumed vs uninterrupted: all {len(a)} weight tensors identical: {identical}; test logits identical: "
      f"{same_logits}")

# %% [markdown]
# Identical to the last bit, on this CPU (asserted above). On a GPU some kernels are not deterministic, so exact
# equality is not promised there; it was not checked on a GPU for this chapter.
#
# ## Training curves and throughput
#
# The per-epoch log of the main run, as written to `log.csv`:

# %%
log = pd.read_csv(result.run_dir / "log.csv")
assert len(log) == len(result.history) == epochs
print(f"measured training throughput: {result.images_per_second:.0f} images/s on "
      f"{'this machine' if not result.loaded_from_cache else 'the machine that trained the cached run'} "
      f"(training steps only, validation excluded); best epoch {result.best_epoch}")
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
losses = log.melt(id_vars="epoch", value_vars=[c for c in log.columns if c.startswith("train_")],
                  var_name="term", value_name="loss")
sns.lineplot(data=losses, x="epoch", y="loss", hue="term", marker="o", ax=axes[0])
axes[0].set(xlabel="epoch", ylabel="training loss (mean over the epoch's batches)", title="training loss terms")
val = log.melt(id_vars="epoch", value_vars=["val_p_va", "val_p_expr", "val_p_au", "val_p_mtl"], var_name="score",
               value_name="value")
sns.lineplot(data=val, x="epoch", y="value", hue="score", marker="o", ax=axes[1])
axes[1].axvline(result.best_epoch, color="grey", ls=":", label="best epoch")
axes[1].set(xlabel="epoch", ylabel="validation score", title="validation scores (P_MTL selects the epoch)")
plt.tight_layout()
plt.show()
log

# %% [markdown]
# ## What changes on a GPU
#
# The same `TrainConfig` runs on a GPU with `device="auto"` (or `"cuda"`), and then:
#
# - **bf16 autocast** (`amp=True`): convolutions and matrix products run in bfloat16, the losses in float32
#   (`affect_book.losses` lifts them out of autocast);
# - **channels-last** memory (`channels_last=True`), which tensor cores prefer (the trainer keeps it on the CPU too,
#   where oneDNN's pooling and batch norm run faster in it: `benchmarks/bench_memory_format.py` measures by how much);
# - **`torch.compile`** (`compile=True`), worth it for long runs;
# - a torchvision backbone (`backbone="resnet18"` and others, pretrained weights from a local file in
#   `weights_path`), at the `gpu` profile's 112 px;
# - **several GPUs**: `torchrun` starts one process per GPU; each draws the same global shuffle and takes its own
#   slice of every batch (DistributedDataParallel, SyncBatchNorm). The run is described by a JSON file:

# %%
gpu_values = {**{k: v for k, v in dataclasses.asdict(config).items() if k in ("lambda_ot", "seed")},
              "dataset": "synthetic", "data": {"preset": PRESET}, "profile": "gpu", "backbone": "resnet18",
              "epochs": get_profile("gpu").epochs, "batch_size": get_profile("gpu").batch_size, "compile": True}
run_json = json.dumps(gpu_values, indent=1)
print(run_json)
print("\none GPU:     affect-book train --config run.json")
print("N GPUs:      torchrun --nproc_per_node=N -m affect_book.trainer --config run.json")
print('a licensed copy: in run.json, "dataset": "affwild2" and "data": {"root": "/path/to/Aff-Wild2"}')

# %% [markdown]
# ### The GPU check
#
# `tools/gpu_check.py` trains a ResNet-18 multi-task model at 112 px in float32 and in bf16 autocast, prints the
# images per second of each, and checks that both reach the same loss. Run it on a CUDA machine with
# `python tools/gpu_check.py`. **No GPU was available when this chapter was written, so it reports no GPU figure**;
# the cell below runs the check only when a GPU is present, and says so otherwise.

# %%
if torch.cuda.is_available():
    print(f"a GPU is present ({torch.cuda.get_device_name(0)}): run  python tools/gpu_check.py  from the repository "
          f"root to measure it")
else:
    print("no CUDA GPU here: no GPU throughput measured. On a GPU machine: python tools/gpu_check.py")

# %% [markdown]
# ## Running on AffectNet or Aff-Wild2
#
# Set the parameters and run this chapter again (or chapter 05's model through `affect-book train`):
#
# ```python
# DATASET = "affwild2"   # or "affectnet"
# DATA_ROOT = "/data/Aff-Wild2"
# PROFILE = "gpu"
# ```
#
# The loaders read the licensed copy from `DATA_ROOT` (nothing downloads), prepare the images once at the profile's
# size into the cache, and report every row they skip. The validation split is then both the selection and the
# reported split, as said above.
#
# ## Summary
#
# - A training step is five lines; the trainer adds seeded shuffling and augmentation, a schedule, clipping,
#   validation, logging, atomic checkpoints and saved predictions.
# - Runs are keyed on a hash of the whole configuration and of the data: the second call above loaded the first's
#   result, and changing one field, or one label, changed the key.
# - An interrupted run resumed from its checkpoint and ended with the same weights and predictions as an
#   uninterrupted one (asserted above).
# - On a GPU: bf16 autocast, channels-last, `torch.compile`, and `torchrun` for several GPUs; no GPU figure was
#   measured for this chapter.
#
# ## Exercises
#
# Try each exercise before opening its solution. *Predict* exercises ask you to write your prediction down first.

# %% [markdown] tags=["exercise", "predict"]
# **1.** Which of these change the run's configuration hash, and so its cache folder: `seed`, `device`, `epochs`,
# `lr`? Predict each (yes or no, with a reason), then check with `config_hash`.

# %% tags=["solution"] jupyter={"source_hidden": true}
alternatives = {"seed": SEED + 1, "device": "cpu" if DEVICE != "cpu" else "auto", "epochs": epochs + 1,
                "lr": config.lr * 2}
for field, value in alternatives.items():
    other = dataclasses.replace(config, **{field: value})
    print(f"{field:7s} {getattr(config, field)!r:>8} -> {value!r:<8}: hash changes: "
          f"{config_hash(other) != config_hash(config)}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# Every field of `TrainConfig` is in the hash, so all four change it. For `device` that is a choice, not an
# accident: a run on a GPU does not give bit-identical weights to one on a CPU, so sharing a folder would hand one
# device's result to the other as if it were its own.

# %% [markdown] tags=["exercise", "conceptual"]
# **2.** Exact resume needs the shuffling and augmentation of epoch `e` to be drawn from a generator seeded by
# `(seed, e)`, not from one generator that advances through the whole run; and each checkpoint is written to a
# temporary file and then renamed. Explain what would go wrong without each of the two.

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Answer.* **Per-epoch generators.** A single generator's state after epoch `e` depends on every draw made so far;
# a resumed process starts a fresh generator and would draw a different shuffle and different flips for the
# remaining epochs (unless the generator's exact state is saved and restored, and nothing else draws from it in
# between). The run would then not reproduce the uninterrupted one, and the cache would hold a result that depends on
# when it was interrupted. Seeding by `(seed, epoch)` makes epoch `e`'s batches a function of the configuration
# alone. **Atomic writes.** A process killed while writing leaves a truncated file; if that file had the
# checkpoint's final name, the next call would try to resume from garbage (or, worse, load a corrupt model). Writing
# to a temporary file and renaming it makes the checkpoint either the old complete one or the new complete one, since
# a rename within a file system is atomic.

# %% [markdown] tags=["exercise", "computational"]
# **3.** Interrupt the small run after epoch 1, then call `train` with `epochs=3` instead of 2. Is it a resume?
# Answer from the run keys without training, and say why the trainer is right to refuse to resume.

# %% tags=["solution"] jupyter={"source_hidden": true}
three = dataclasses.replace(resume_config, epochs=3)
key_two = run_key(resume_config, small_train, small_val, small_val)
key_three = run_key(three, small_train, small_val, small_val)
print(f"run key with epochs=2: {key_two}; with epochs=3: {key_three}; same folder: {key_two == key_three}")
print("not a resume: another configuration starts a fresh run. Epoch 1 of a 3-epoch run is not epoch 1 of a "
      "2-epoch run: the cosine decay is laid out over the whole run's steps, so the learning rates differ as soon "
      "as the warm-up ends")

# %% [markdown] tags=["exercise", "computational"]
# **4.** Read `log.csv` of the main run: at which epoch is the validation `P_EXPR` best, and is that the selected
# epoch? Then compare the selected epoch's validation `P_MTL` with its test `P_MTL`. Why does choosing the epoch on
# the split you report (AffectNet and Aff-Wild2, where validation doubles as test) flatter a model?

# %% tags=["solution"] jupyter={"source_hidden": true}
best_expr_epoch = int(log.loc[log["val_p_expr"].idxmax(), "epoch"])
print(f"best validation P_EXPR at epoch {best_expr_epoch}; the selected (best validation P_MTL) epoch: "
      f"{result.best_epoch}")
print(f"selected epoch: validation P_MTL {result.val_metrics['p_mtl']:.3f}, test P_MTL "
      f"{result.test_metrics['p_mtl']:.3f} (gap {result.val_metrics['p_mtl'] - result.test_metrics['p_mtl']:+.3f})")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# The selected epoch is the maximum of the validation score over the epochs, so part of its value is the noise that
# happened to favour it; on a separate test split that noise is independent and the score regresses (the gap above,
# in either direction in a short `smoke` run). With validation as the test split, the reported score *is* that
# maximum, an optimistic estimate, the more so the more epochs (or runs, or losses) are compared on it.

# %% [markdown] tags=["exercise", "computational"]
# **5.** Rerun the bare five-line loop of this chapter with `seed_everything(SEED)` and then with
# `seed_everything(SEED + 1)`. Are the per-step losses identical to `bare_losses` in the first case? In the second,
# what differs: the data order, the initial weights, or both?

# %% tags=["solution"] jupyter={"source_hidden": true}
def bare_loop(seed: int, order_seed: int) -> list[float]:
    seed_everything(seed)  # sets the initial weights of the network built next
    net_ = build_model("small_cnn", len(classes), width=width)
    opt_ = torch.optim.AdamW(net_.parameters(), lr=bare_config.lr)
    order_ = torch.randperm(len(images), generator=torch.Generator().manual_seed(order_seed))
    got = []
    for step_ in range(4):
        rows_ = order_[step_ * 64:(step_ + 1) * 64]
        loss_, _ = multitask_loss(net_(images[rows_]), {k: v[rows_] for k, v in labels.items()}, bare_config, None)
        opt_.zero_grad()
        loss_.backward()
        opt_.step()
        got.append(loss_.item())
    return got


print("same seed, same order: identical losses:", bare_loop(SEED, SEED) == bare_losses)
print("other weight seed, same order:", [round(v, 3) for v in bare_loop(SEED + 1, SEED)])
print("same weight seed, other order:", [round(v, 3) for v in bare_loop(SEED, SEED + 1)])
print("original:                     ", [round(v, 3) for v in bare_losses])

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# In the chapter's loop the order comes from its own generator seeded with `SEED`, and the weights from the global
# torch state that `seed_everything` set: changing the seed of `seed_everything` alone changes the initial weights
# only. The trainer keeps the two apart in the same way (weights from the seed, batches from `(seed, epoch)`), which
# is what lets a resumed run redraw exactly the batches it would have drawn.

# %% [markdown] tags=["exercise", "open-ended"]
# **6.** Plan the study's compute. From the throughput measured here, estimate how long one run of each profile
# would take on this machine, and how long a study of every expression loss in `losses.EXPRESSION_LOSSES` times the
# profile's seeds would take. Which would you cut first, and what would the cut cost the conclusions?

# %% tags=["solution"] jupyter={"source_hidden": true}
from affect_book.losses import EXPRESSION_LOSSES
from affect_book.profiles import PROFILES

measured = result.images_per_second
base_pixels = profile.image_size ** 2
plan = []
for name, prof in PROFILES.items():
    # an extrapolation, not a measurement: throughput assumed to fall in proportion to the pixels per image
    ips = measured * base_pixels / prof.image_size ** 2
    one_run_s = prof.epochs * prof.n_train / ips
    plan.append({"profile": name, "assumed images/s": ips, "one run (h)": one_run_s / 3600,
                 "runs": len(EXPRESSION_LOSSES) * prof.seeds,
                 "study (h)": one_run_s * len(EXPRESSION_LOSSES) * prof.seeds / 3600})
where = "here" if not result.loaded_from_cache else "by the machine that trained the cached run"
print(f"measured {where}: {measured:.0f} training images/s at {profile.image_size} px (profile {profile.name}); the "
      f"other rows scale it by pixel count, which ignores the backbone (a ResNet-18 on a GPU is another machine)")
pd.DataFrame(plan).set_index("profile")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# *Discussion.* The table is a back-of-the-envelope plan: a scaled CPU throughput says little about a GPU, so measure
# one epoch on the target machine first (`tools/gpu_check.py`). Cuts, roughly from cheapest to dearest in what they
# cost: fewer epochs (risks comparing under-trained models, where losses differ for reasons that vanish later); a
# smaller image size (the rare classes' subtle AUs may vanish first); fewer losses (keep the pair the claim is about,
# the circumplex OT term against the uniform control, plus the strongest frequency control); fewer seeds last, since
# the paired comparisons between losses need several seeds to tell a difference from seed noise.

# %% [markdown]
# ## Where to go next
#
# With a trainer that is cheap to repeat and safe to interrupt, the next chapters train the controlled study:
# the rare-class controls and the optimal-transport costs, over several seeds, compared class by class.

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
