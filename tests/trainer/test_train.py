"""The trainer: exact resume, load-or-train caching, config hashing, clear config errors."""

import dataclasses

import numpy as np
import pytest
import torch
from support import ROOT
from support.toy import CLASSES, toy, toy_config

from affect_book.cache import config_hash
from affect_book.device import seed_everything
from affect_book.trainer import (TrainConfig, dataset_arrays, evaluate, make_model, predict, run_key, train,
                                 trained_model, validate_config)


@pytest.fixture(scope="module")
def sets():
    return toy(192, 0), toy(64, 1), toy(64, 2)


_config = toy_config


@pytest.mark.slow
def test_exact_resume_matches_an_uninterrupted_run(sets, tmp_path):
    train_set, val_set, test_set = sets
    config = _config(dropout=0.2)  # dropout draws from the global RNG: its state must be restored too
    full = train(config, train_set, val_set, test_set, root=tmp_path / "a", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, train_set, val_set, test_set, root=tmp_path / "b", stop_after_epoch=1, progress=False)
    assert (tmp_path / "b" / run_key(config, train_set, val_set, test_set) / "checkpoint.pt").is_file()
    resumed = train(config, train_set, val_set, test_set, root=tmp_path / "b", progress=False)
    a, b = full.model_state(), resumed.model_state()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["train_loss"] for r in full.history] == [r["train_loss"] for r in resumed.history]
    assert np.array_equal(full.predictions()["logits"], resumed.predictions()["logits"])


@pytest.mark.slow
def test_finished_run_is_loaded_not_retrained(sets, tmp_path):
    train_set, val_set, test_set = sets
    config = _config(epochs=1)
    first = train(config, train_set, val_set, test_set, root=tmp_path, progress=False)
    second = train(config, train_set, val_set, test_set, root=tmp_path, progress=False)
    assert not first.loaded_from_cache and second.loaded_from_cache
    assert second.test_metrics == first.test_metrics and second.run_dir == first.run_dir
    pred = second.predictions()
    assert pred["logits"].shape == (64, 4) and pred["features"].shape[0] == 64 and pred["au_prob"].shape == (64, 12)
    assert (first.run_dir / "log.csv").read_text().startswith("epoch,")


def test_channels_last_on_the_cpu_changes_the_memory_order_not_the_numbers(sets, tmp_path):
    """On the CPU a run keeps its weights channels-last (oneDNN's faster path; benchmarks/bench_memory_format.py)
    and computes what the channels-first run computes, up to rounding."""
    train_set, val_set, test_set = sets
    last = train(_config(epochs=1), train_set, val_set, test_set, root=tmp_path / "last", progress=False)
    first = train(_config(epochs=1, channels_last=False), train_set, val_set, test_set, root=tmp_path / "first",
                  progress=False)
    conv = next(k for k, v in last.model_state().items() if v.ndim == 4)
    assert last.model_state()[conv].is_contiguous(memory_format=torch.channels_last)
    assert not first.model_state()[conv].is_contiguous(memory_format=torch.channels_last)
    assert last.history[0]["train_loss"] == pytest.approx(first.history[0]["train_loss"], rel=1e-4)
    np.testing.assert_allclose(last.predictions()["logits"], first.predictions()["logits"], rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_training_learns_the_toy_task(sets, tmp_path):
    train_set, val_set, _ = sets
    result = train(_config(epochs=4, lambda_ot=0.0, cost="none"), train_set, val_set, root=tmp_path,
                   progress=False)
    assert result.val_metrics["accuracy"] > 0.5  # chance is 0.25


def test_config_hash_changes_with_every_field():
    base = _config()
    seen = {config_hash(base)}
    changed = {"classes": CLASSES[::-1], "dataset": "affectnet", "data": (("preset", "x"),), "backbone": "resnet18",
               "norm": "group",
               "width": 8, "weights_path": "/w.pt", "dropout": 0.1, "expression_loss": "focal", "expression_param": 3.0,
               "lambda_ot": 1.0,
               "cost": "uniform", "cost_matrix": ((0, 1), (1, 0)), "coordinates": "russell1980", "lambda_va": 0.5,
               "cost_fill": (("Other", (0.0, 0.0)),), "cost_pair": (CLASSES[0], CLASSES[1]), "pair_weight": 8.0,
               "lambda_au": 0.5, "lambda_supcon": 0.5, "supcon_temperature": 0.2, "lambda_pair": 0.5,
               "pair_margin": 0.5, "margin_pair": (CLASSES[0], CLASSES[1]),
               "epochs": 9, "batch_size": 7, "lr": 0.1, "weight_decay": 0.2, "warmup_epochs": 2.0,
               "grad_clip": 1.0, "sampler": "class_balanced",
               "seed": 3, "profile": "gpu", "device": "cuda", "amp": False,
               "channels_last": False, "compile": True, "augment": False, "crop": 0.25, "au_threshold": 0.4,
               "version": 99}
    assert set(changed) == {f.name for f in dataclasses.fields(TrainConfig)}
    for name, value in changed.items():
        digest = config_hash(dataclasses.replace(base, **{name: value}))
        assert digest not in seen, name
        seen.add(digest)


@pytest.mark.parametrize("change, message", [
    ({"backbone": "resnet19"}, "backbone='resnet19'.*resnet18"),
    ({"lambda_ot": -1.0}, "lambda_ot=-1.0.*>= 0"),
    ({"cost": "circle"}, "cost='circle'"),
    ({"cost": "matrix", "cost_matrix": ((0, 1), (1, 0))}, r"cost_matrix.*\(4, 4\)"),
    ({"epochs": 0}, "epochs=0"),
    ({"lambda_ot": 0.5, "cost": "none"}, "a cost when lambda_ot > 0"),
])
def test_bad_config_fails_before_training(change, message):
    with pytest.raises(ValueError, match=message):
        validate_config(_config(**change))


def test_class_list_must_match_the_data(sets, tmp_path):
    train_set, val_set, _ = sets
    with pytest.raises(ValueError, match="classes"):
        train(_config(classes=("Neutral", "Happy", "Sad", "Fear")), train_set, val_set, root=tmp_path,
              progress=False)


@pytest.mark.slow
def test_two_process_gloo_ddp_matches_one_process(tmp_path):
    """Two ranks, each on half of every global batch, end with the weights of one process on the whole batch."""
    import subprocess
    import sys

    worker = ROOT / "tests" / "support" / "ddp_worker.py"
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, str(worker), str(tmp_path)], capture_output=True, text=True, env=env)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(worker), str(tmp_path)], capture_output=True, text=True, env=env, timeout=240)
    assert two.returncode == 0, two.stderr[-3000:]
    a = torch.load(tmp_path / "weights_world1.pt", weights_only=True)
    b = torch.load(tmp_path / "weights_world2.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=2e-5, rtol=1e-4), k


def test_cost_for_a_class_without_coordinate_fails_before_training():
    with pytest.raises(ValueError, match=r"\['Contempt'\] have no coordinate"):
        validate_config(TrainConfig(classes=("Neutral", "Anger", "Contempt"), lambda_ot=0.5, cost="va"))
    # Other is never placed: the OT cost charges it the mean cost of the placed classes (affect_book.costs)
    classes = ("Neutral", "Anger", "Other")
    validate_config(TrainConfig(classes=classes, lambda_ot=0.5, cost="va"))
    with pytest.raises(ValueError, match="Other has no place"):
        validate_config(TrainConfig(classes=classes, lambda_ot=0.5, cost="va", cost_fill=(("Other", (0.0, 0.0)),)))


@pytest.mark.parametrize("kind", ("uniform_column", "permuted"))
def test_new_cost_kinds_build(kind):
    from affect_book.costs import ot_cost
    from affect_book.trainer import cost_tensor

    config = TrainConfig(classes=("Neutral", "Anger", "Fear", "Happy"), lambda_ot=0.5, cost=kind, seed=4)
    validate_config(config)
    want = ot_cost(config.classes, kind, seed=4).to_numpy()
    np.testing.assert_allclose(cost_tensor(config).numpy(), want, rtol=1e-6)


def test_expression_param_checked_against_the_loss_table():
    with pytest.raises(ValueError, match="has no parameter"):
        validate_config(TrainConfig(classes=("Neutral", "Anger"), expression_loss="ce", expression_param=0.5))
    with pytest.raises(ValueError, match="q in"):
        validate_config(TrainConfig(classes=("Neutral", "Anger"), expression_loss="gce", expression_param=2.0))
    validate_config(TrainConfig(classes=("Neutral", "Anger"), expression_loss="gce", expression_param=0.5))


@pytest.mark.slow
def test_gpu_check_script_runs_on_cpu():
    """The GPU check itself must work; on a CPU it runs a few tiny steps (numbers not meaningful)."""
    import subprocess
    import sys

    script = ROOT / "tools" / "gpu_check.py"
    proc = subprocess.run([sys.executable, str(script), "--device", "cpu", "--steps", "3", "--batch", "4", "--size",
                           "32", "--tolerance", "100"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "bf16 / fp32 throughput" in proc.stdout and "verdict: same loss" in proc.stdout


@pytest.mark.parametrize("loss", ["ce", "inverse_frequency", "class_balanced", "focal", "ldam", "ldam_drw",
                                  "logit_adjusted", "balanced_softmax", "label_smoothing", "confidence_penalty"])
def test_every_expression_control_trains(sets, tmp_path, loss):
    from affect_book.losses import EXPRESSION_LOSSES

    assert loss in EXPRESSION_LOSSES
    train_set, val_set, _ = sets
    result = train(_config(epochs=1, expression_loss=loss, cost="au", lambda_ot=0.3), train_set, val_set,
                   root=tmp_path, progress=False)
    assert np.isfinite(result.history[0]["train_loss"]) and result.history[0]["train_expression"] > 0


def test_multitask_loss_terms_match_the_losses_module():
    from affect_book import losses as L
    from affect_book.trainer import cost_tensor, multitask_loss

    torch.manual_seed(0)
    config = _config(lambda_ot=0.7, cost="va", lambda_va=0.5, lambda_au=2.0)
    out = {"logits": torch.randn(6, 4), "va": torch.rand(6, 2) * 2 - 1, "au_logits": torch.randn(6, 12)}
    batch = {"expression": torch.tensor([0, 1, -1, 3, 2, 1]), "va": torch.rand(6, 2) * 2 - 1,
             "au": torch.randint(-1, 2, (6, 12))}
    batch["va"][1] = float("nan")
    cost = cost_tensor(config)
    total, terms = multitask_loss(out, batch, config, cost)
    keep = batch["expression"] >= 0
    ce = torch.nn.functional.cross_entropy(out["logits"][keep], batch["expression"][keep])
    p = out["logits"][keep].softmax(-1)
    ot_ref = (p * cost[:, batch["expression"][keep]].T).sum(-1).mean()
    assert torch.allclose(terms["expression"], ce, atol=1e-6)
    assert torch.allclose(terms["ot"], ot_ref, atol=1e-6)
    assert torch.allclose(terms["va"], L.ccc_loss(out["va"], batch["va"]))
    assert torch.allclose(total, ce + 0.7 * ot_ref + 0.5 * terms["va"] + 2.0 * terms["au"], atol=1e-6)


@pytest.mark.parametrize("keep_features", [False, True])
def test_predict_gives_the_numbers_of_evaluate(sets, keep_features):
    """predict(model, dataset) is the trainer's evaluation pass on a dataset: the same arrays, the same keys."""
    config = _config()
    seed_everything(0)
    model = make_model(config)
    test_set = sets[2]
    _, expected = evaluate(model, dataset_arrays(test_set), config, torch.device("cpu"), batch_size=48,
                           keep_features=keep_features)
    got = predict(model, test_set, config, batch_size=48, keep_features=keep_features)
    assert list(got) == list(expected) and ("features" in got) == keep_features
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert got["logits"].shape == (len(test_set), len(CLASSES)) and not model.training


@pytest.mark.slow
def test_predict_on_a_finished_run_gives_its_saved_test_predictions(sets, tmp_path):
    train_set, val_set, test_set = sets
    config = _config(epochs=1)
    result = train(config, train_set, val_set, test_set, root=tmp_path, progress=False)
    saved = result.predictions()
    got = predict(trained_model(config, result), test_set, config, "cpu", keep_features=True)
    assert sorted(got) == sorted(saved)
    for key in saved:
        np.testing.assert_array_equal(got[key], saved[key], err_msg=key)


def test_train_command_line(tmp_path, monkeypatch, capsys):
    import json

    from affect_book.cli import main

    monkeypatch.setenv("AFFECT_BOOK_CACHE", str(tmp_path / "cache"))
    config = {"dataset": "synthetic", "data": {"preset": "balanced", "n_train": 64, "n_val": 32, "n_test": 32},
              "profile": "smoke", "epochs": 1, "width": 4, "batch_size": 32, "lambda_ot": 0.5, "cost": "uniform",
              "cost_fill": [["Contempt", [-0.555, 0.47]]],
              "device": "cpu"}
    (tmp_path / "run.json").write_text(json.dumps(config))
    assert main(["train", "--config", str(tmp_path / "run.json"), "--root", str(tmp_path / "runs")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best_epoch"] == 1 and "p_mtl" in out["test"] and not out["loaded_from_cache"]
    assert main(["train", "--config", str(tmp_path / "run.json"), "--root", str(tmp_path / "runs")]) == 0
    assert json.loads(capsys.readouterr().out)["loaded_from_cache"]
    assert main(["train", "--config", str(tmp_path / "run.json"), "--set", "backbone=\"resnet19\""]) == 2
    assert "resnet19" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "run.json"), "--set", "epoch=3"]) == 2
    err = capsys.readouterr().err
    assert "config key='epoch' is not valid" in err and "Did you mean 'epochs'" in err


def test_check_run_parameters_fills_from_the_profile_and_names_the_parameter():
    from affect_book.params import ParameterError
    from affect_book.profiles import get_profile
    from affect_book.trainer import check_run_parameters

    profile, epochs, width = check_run_parameters("smoke")
    assert (profile, epochs, width) == (get_profile("smoke"), get_profile("smoke").epochs, get_profile("smoke").width)
    assert check_run_parameters("cpu", 3, "cpu", 7, 12)[1:] == (7, 12)
    for kwargs, words in [({"profile": "smok"}, ["PROFILE='smok'", "'smoke'"]),
                          ({"seed": -1}, ["SEED=-1"]), ({"device": "gpu"}, ["DEVICE='gpu'", "'cuda'"]),
                          ({"epochs": 0}, ["EPOCHS=0"]), ({"width": 1.5}, ["WIDTH=1.5"])]:
        with pytest.raises(ParameterError) as err:
            check_run_parameters(**{"profile": "smoke", **kwargs})
        for word in words:
            assert word in str(err.value)
