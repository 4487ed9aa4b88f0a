"""The claim tracker: statuses come from verdict files, "not run yet" without one, and the contract is enforced."""

import json

import pytest

from affect_book.analysis import claims, verdicts
from affect_book.params import ParameterError


def test_every_claim_is_not_run_yet_without_verdict_files(tmp_path):
    table = claims.claims_table("smoke", root=tmp_path)
    assert list(table.index) == [c.id for c in claims.CLAIMS]
    assert (table["status"] == "not run yet").all()
    assert set(table["tested in"]) == {"chapter 07", "chapter 08", "chapter 09"}
    assert claims.study_results(tmp_path) == []


def test_a_written_verdict_is_read_back_for_its_profile_only(tmp_path):
    path = claims.write_verdict("uniform-matches-affwild2", "not reproduced", {"p_value": 0.012, "delta": -0.03},
                                chapter="07", profile="cpu", dataset="simulator:affwild2", root=tmp_path)
    assert path == tmp_path / "claims" / "cpu" / "uniform-matches-affwild2.json"
    on_disk = json.loads(path.read_text())  # the contract's fields, as plain JSON
    assert on_disk == {"claim": "uniform-matches-affwild2", "verdict": "not reproduced",
                       "numbers": {"p_value": 0.012, "delta": -0.03}, "chapter": "07", "profile": "cpu",
                       "dataset": "simulator:affwild2"}
    table = claims.claims_table("cpu", root=tmp_path)
    assert table.loc["uniform-matches-affwild2", "status"] == (
        "not reproduced (chapter 07, cpu, simulator:affwild2; p_value = 0.012, delta = -0.03)")
    assert (table.drop("uniform-matches-affwild2")["status"] == "not run yet").all()
    # a cpu verdict does not stand in for the smoke profile
    assert claims.claim_status("uniform-matches-affwild2", "smoke", root=tmp_path) == "not run yet"


def test_a_study_results_store_is_listed(tmp_path):
    store = tmp_path / "studies" / "0123abcd" / "results.csv"
    store.parent.mkdir(parents=True)
    store.write_text("condition,seed,score\n")
    assert claims.study_results(tmp_path) == [store]


@pytest.mark.parametrize("change, message", [
    ({"verdict": "true"}, "verdict 'true'"),
    ({"numbers": {"p": float("nan")}}, "finite number"),
    ({"numbers": {}}, "non-empty"),
    ({"claim": "ot-raises-score"}, "claim 'ot-raises-score'"),
    ({"profile": "gpu"}, "profile 'gpu'"),
])
def test_a_verdict_file_that_breaks_the_contract_is_named(tmp_path, change, message):
    path = claims.write_verdict("geometry-nearer-affwild2", "reproduced", {"p_value": 0.02}, "08", "smoke",
                                "simulator:affwild2", root=tmp_path)
    record = {**json.loads(path.read_text()), **change}
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=message) as err:
        claims.claims_table("smoke", root=tmp_path)
    assert str(path) in str(err.value)


def test_bad_writes_and_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="expected one of"):
        claims.write_verdict("ot-raises-score", "maybe", {"x": 1.0}, "07", "cpu", "affectnet", root=tmp_path)
    with pytest.raises(ParameterError, match="claim"):
        claims.verdict_path("no-such-claim", "cpu", tmp_path)
    with pytest.raises(ParameterError, match="profile"):
        claims.claims_table("laptop", root=tmp_path)
    (tmp_path / "claims" / "cpu").mkdir(parents=True)
    (tmp_path / "claims" / "cpu" / "ot-raises-score.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid verdict file"):
        claims.read_verdict("ot-raises-score", "cpu", root=tmp_path)
    assert not list((tmp_path / "claims").glob("*/*.tmp"))


def test_verdicts_frame_one_row_per_claim_and_part():
    found = {"a": {"verdict": "reproduced", "numbers": {"x/p_mtl": {"hl_estimate": 0.1, "p_claimed": 0.03,
                                                                       "smallest_one_sided_p": 0.03125},
                                                           "y/p_mtl": {"hl_estimate": 0.2, "p_tost": 0.5,
                                                                       "smallest_one_sided_p": 0.03125}}},
                "b": {"verdict": "inconclusive", "numbers": {"x/p_expr": {"hl_estimate": -0.1}}}}
    frame = verdicts.verdicts_frame(found, ("hl_estimate", "p_claimed", "p_tost", "smallest_one_sided_p"),
                                    {"smallest_one_sided_p": "smallest p"})
    assert list(frame.columns) == ["claim", "verdict", "part", "hl_estimate", "p_claimed", "smallest p", "p_tost"]
    assert frame[["claim", "part"]].values.tolist() == [["a", "x/p_mtl"], ["a", "y/p_mtl"], ["b", "x/p_expr"]]
    assert frame["hl_estimate"].tolist() == [0.1, 0.2, -0.1] and frame["p_tost"].isna().tolist() == [True, False, True]
    assert verdicts.verdicts_frame({}, ("hl_estimate",)).empty
