"""Config values typed by their field, hyper-parameters finite, divergence stopped, and the train command line's
errors: one line, exit status 2 (1 for a diverged run, 130 when interrupted), the config checked before the data."""

import dataclasses
import json

import pytest
import torch
from support.toy import toy, toy_config

from affect_book.cache import config_hash
from affect_book.params import ParameterError
from affect_book.trainer import (TrainConfig, TrainingDiverged, config_from_dict, parse_assignment, run_key, train,
                                 validate_config)
from affect_book.trainer import loop as fit_module
from affect_book.trainer.cli import main


@pytest.mark.parametrize("text, key, value", [
    ("augment=False", "augment", False), ("amp=false", "amp", False), ("compile=True", "compile", True),
    ("lr=1e-3", "lr", 1e-3), ("lr=1", "lr", 1.0), ("epochs=3", "epochs", 3), ("cost=va", "cost", "va"),
    ('cost="va"', "cost", "va"), ("weights_path=None", "weights_path", None),
    ("weights_path=/w/r18.pt", "weights_path", "/w/r18.pt"), ("expression_param=null", "expression_param", None),
    ('cost_fill=[["Other", [0, 0.5]]]', "cost_fill", (("Other", (0, 0.5)),)),
    ("classes=('a', 'b')", "classes", ("a", "b")),
])
def test_set_values_are_read_by_the_field_type(text, key, value):
    """Issue 9, point 21: --set augment=False used to be the truthy string "False"."""
    got = parse_assignment(text, TrainConfig)
    assert got == (key, value) and type(got[1]) is type(value)


@pytest.mark.parametrize("text, message", [
    ("epochs=true", r"TrainConfig.epochs=True .*an integer.*bool"),
    ("epochs=2.5", r"TrainConfig.epochs=2.5 .*an integer"),
    ("lr=fast", r"TrainConfig.lr='fast' .*a number.*str"),
    ("lr=Infinity", r"TrainConfig.lr=inf .*finite"),
    ("lambda_ot=NaN", r"TrainConfig.lambda_ot=nan .*finite"),
    ("augment=no", r"TrainConfig.augment='no' .*true or false"),
    ("augment=1", r"TrainConfig.augment=1 .*true or false"),
    ("epochs", "expected KEY=VALUE"),
    ("epoch=3", "config key='epoch'.*Did you mean 'epochs'"),
])
def test_bad_set_values_name_the_field(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_assignment(text, TrainConfig)


def test_json_values_follow_the_same_rules():
    """Issue 9, point 21: "epochs": true used to train one epoch."""
    with pytest.raises(ParameterError, match="TrainConfig.epochs=True"):
        config_from_dict({"epochs": True}, ("a", "b"))
    with pytest.raises(ParameterError, match="TrainConfig.lr='0.1'"):
        config_from_dict({"lr": "0.1"}, ("a", "b"))
    one = config_from_dict({"lr": 1, "data": {"preset": "x", "n_train": 5}}, ("a", "b"))
    assert one.lr == 1.0 and isinstance(one.lr, float) and one.data == (("n_train", 5), ("preset", "x"))
    assert config_hash(one) == config_hash(dataclasses.replace(one, lr=1.0))


@pytest.mark.parametrize("change, message", [
    ({"epochs": True}, "epochs=True"), ({"lr": float("inf")}, "lr=inf.*finite"), ({"lr": float("nan")}, "finite"),
    ({"lambda_va": float("inf")}, "lambda_va=inf"), ({"expression_param": float("inf")}, "expression_param=inf"),
    ({"grad_clip": float("nan")}, "grad_clip=nan"), ({"batch_size": "32"}, "batch_size='32'"),
    ({"backbone": "resnet19"}, "Did you mean 'resnet18'"), ({"device": "gpu"}, "TrainConfig.device='gpu'"),
    ({"crop": 0.5}, "crop=0.5"), ({"au_threshold": 1.0}, "au_threshold=1.0"),
    ({"profile": "cpuu"}, "TrainConfig.profile=.cpuu.*Did you mean .cpu."),
])
def test_validate_config_requires_types_and_finite_values(change, message):
    """Issue 9, point 20: lr: Infinity used to be accepted."""
    with pytest.raises(ParameterError, match=message):
        validate_config(toy_config(**change))


@pytest.fixture(scope="module")
def sets():
    return toy(96, 0), toy(32, 1)


@pytest.mark.slow
def test_a_huge_learning_rate_stops_with_a_clear_error(sets, tmp_path):
    """Issue 9, point 20: a diverged run used to be stored as finished."""
    config = toy_config(epochs=2, lr=1e12)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss in epoch 1, step \d+ of 3 \(.*expression = nan"):
        train(config, *sets, root=tmp_path, progress=False)
    folder = tmp_path / run_key(config, *sets)
    assert not (folder / "result.json").exists() and not (folder / "checkpoint.pt").exists()
    with pytest.raises(TrainingDiverged):  # asked again: the same error, never a finished run
        train(config, *sets, root=tmp_path, progress=False)


@pytest.mark.slow
def test_divergence_keeps_the_last_good_checkpoint(sets, tmp_path, monkeypatch):
    """A loss that turns NaN in epoch 2: the run stops there, epoch 1's checkpoint stays, nothing is 'finished'."""
    real = fit_module.multitask_loss
    calls = {"n": 0}

    def nan_in_epoch_two(out, batch, config, cost, counts=None, epoch=None):
        total, terms = real(out, batch, config, cost, counts, epoch=epoch)
        calls["n"] += 1
        if calls["n"] == 5:  # 3 steps per epoch: the second step of epoch 2
            terms["va"] = terms["va"] * float("nan")
            total = total + terms["va"]
        return total, terms

    monkeypatch.setattr(fit_module, "multitask_loss", nan_in_epoch_two)
    config = toy_config(epochs=3)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 2 of 3 \(loss = nan, va = nan;.*checkpoint of epoch 1"):
        train(config, *sets, root=tmp_path, progress=False)
    folder = tmp_path / run_key(config, *sets)
    assert not (folder / "result.json").exists()
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 0 and len(state["history"]) == 1


@pytest.mark.slow
def test_a_loss_grown_a_thousandfold_stops_the_run_and_is_never_cached(sets, tmp_path):
    """Issue 23, point 3: lr=1000 gave a finite loss of 18 million, recorded as a finished run and loaded again."""
    config = toy_config(epochs=2, lr=1000.0)
    message = r"mean training loss of epoch 1 is .* more than 1000 times the initial loss"
    with pytest.raises(TrainingDiverged, match=message):
        train(config, *sets, root=tmp_path, progress=False)
    folder = tmp_path / run_key(config, *sets)
    assert not (folder / "result.json").exists() and not (folder / "checkpoint.pt").exists()
    with pytest.raises(TrainingDiverged, match=message):  # asked again: trained again, the same error
        train(config, *sets, root=tmp_path, progress=False)


def test_loss_growth_rule_is_relative_to_the_initial_loss_floored_at_one():
    config = toy_config()
    fit_module.check_loss_growth(config, "k", 0, 999.0, 0.001, 1)  # the floor: 1000 x max(0.001, 1)
    fit_module.check_loss_growth(config, "k", 0, 3999.0, 4.0, 1)
    with pytest.raises(TrainingDiverged, match=r"epoch 3 is 4001.*initial loss 4 .*= 4000.*checkpoint of epoch 2"):
        fit_module.check_loss_growth(config, "k", 2, 4001.0, 4.0, 1)
    with pytest.raises(TrainingDiverged, match="= 1000"):
        fit_module.check_loss_growth(config, "k", 0, 1001.0, 0.001, 1)


@pytest.mark.slow
def test_a_loss_grown_in_a_later_epoch_keeps_the_last_good_checkpoint(sets, tmp_path, monkeypatch):
    """Finite but exploding from epoch 2 on: stopped after epoch 2, epoch 1's checkpoint (with the reference) stays."""
    real = fit_module.multitask_loss

    def explodes_in_epoch_two(out, batch, config, cost, counts=None, epoch=None):
        total, terms = real(out, batch, config, cost, counts, epoch=epoch)
        return (total * 1e5 if epoch == 1 else total), terms

    monkeypatch.setattr(fit_module, "multitask_loss", explodes_in_epoch_two)
    config = toy_config(epochs=3)
    with pytest.raises(TrainingDiverged, match=r"epoch 2 is .*checkpoint of epoch 1 is kept"):
        train(config, *sets, root=tmp_path, progress=False)
    folder = tmp_path / run_key(config, *sets)
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 0 and 0 < state["initial_loss"] < 100
    assert not (folder / "result.json").exists()


@pytest.mark.slow
def test_a_diverged_run_recorded_by_older_code_is_not_loaded(sets, tmp_path):
    """A result.json of the trainer before the rule (no initial_loss, a later epoch's loss far above the first
    one's) is moved aside and the run trained again, not loaded."""
    config = toy_config(epochs=2)
    first = train(config, *sets, root=tmp_path, progress=False)
    record = first.run_dir / "result.json"
    info = json.loads(record.read_text())
    assert 0 < info["initial_loss"] < 100
    del info["initial_loss"]
    info["history"][1]["train_loss"] = 2000.0 * info["history"][0]["train_loss"]
    record.write_text(json.dumps(info))
    lines = []
    again = train(config, *sets, root=tmp_path, progress=False, log=lines.append)
    assert not again.loaded_from_cache
    assert any("records a diverged run (epoch 2's mean training loss" in line for line in lines), lines
    assert list(first.run_dir.glob("result.json.corrupt-*"))
    assert train(config, *sets, root=tmp_path, progress=False).loaded_from_cache  # the retrained run is kept


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def test_cli_errors_are_one_line_and_come_before_the_data(tmp_path, capsys, monkeypatch):
    """Issue 9, point 23: these used to raise tracebacks, and a typo in a key cost a full prepare first."""
    from affect_book.data import sources

    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded before the config was checked")

    monkeypatch.setattr(sources, "load_splits", no_data)
    good = tmp_path / "run.json"
    good.write_text(json.dumps({"epochs": 1, "device": "cpu"}))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"epochs": 1,}')
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"epohcs": 1}))
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    cases = [(["--config", str(bad_json)], "is not valid JSON"), (["--config", str(tmp_path / "nope.json")],
                                                                    "not found"),
             (["--config", str(typo)], "Did you mean 'epochs'"), (["--config", str(listed)], "JSON object"),
             (["--config", str(good), "--set", "epochs"], "expected KEY=VALUE"),
             (["--config", str(good), "--set", "epochs=three"], "TrainConfig.epochs='three'"),
             (["--config", str(good), "--set", "lr=Infinity"], "finite"),
             (["--config", str(good), "--set", "backbone=resnet19"], "Did you mean 'resnet18'")]
    for argv, message in cases:
        code, err = _run(argv, capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
    code, err = _run([], capsys)
    assert code == 2 and "--config is required" in err


@pytest.mark.slow
def test_cli_interrupt_and_divergence(tmp_path, capsys, monkeypatch):
    from affect_book.data import sources

    (tmp_path / "run.json").write_text(json.dumps({"epochs": 1, "device": "cpu", "width": 4, "batch_size": 32}))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sources, "load_splits", interrupted)
    code, err = _run(["--config", str(tmp_path / "run.json")], capsys)
    assert code == 130 and "interrupted; resume with the same command" in err
    tiny = {"train": toy(96, 0), "val": toy(32, 1), "test": None}
    monkeypatch.setattr(sources, "load_splits", lambda *a, **k: tiny)
    code, err = _run(["--config", str(tmp_path / "run.json"), "--set", "lr=1e20", "--set", "epochs=3",
                     "--root", str(tmp_path)], capsys)
    assert code == 1 and "training diverged" in err
    for _ in range(2):  # finite but grown a thousandfold: not finished, so the second call trains and fails again
        code, err = _run(["--config", str(tmp_path / "run.json"), "--set", "lr=1000", "--root", str(tmp_path)],
                         capsys)
        assert code == 1 and "more than 1000 times the initial loss" in err, err
