"""The keyword-spotting flow (mapper.kws_flow, `make demo`) end to end in a short version: a tiny
synthesized data set (32 features), a network shaped as the paper's (first layer split over
two tiles, then two layers chained tile to tile), the golden chip's accuracy rows over device
seeds and drift times, energy, the confusion matrix, and two test clips through the RTL chip
(3 x 2 tiles of 16 x 16, Verilator): every word and cycle against the golden chip."""
import argparse
import json

import numpy as np
import pytest

from golden.chip.params import ChipParams
from golden.spec import TileParams
from mapper import flow, kws_flow
from mapper.kws import CLASSES, KwsConfig
from mapper.train import TrainConfig

TINY = KwsConfig(n_train=72, n_test=36, languages=("en-us", "en"),
                 variants=("Alex", "f2", "m3", "whisper"), test_fraction=0.5,
                 words_per_call=6, unknown_words=("bed", "marvin", "sheila"), n_features=32)
TRAIN = TrainConfig(hidden=(16, 16), epochs=3, batch_size=16)
CHIP = ChipParams(tile=TileParams(rows=16, cols=16), group_lanes=8)


@pytest.mark.rtl
@pytest.mark.slow
def test_short_keyword_spotting_flow(tmp_path, capsys):
    args = argparse.Namespace(seed=0, seeds=2, rtl_inputs=2, simulator="verilator",
                              closed_loop=False, out_dir=str(tmp_path))
    s = kws_flow.run(args, data_config=TINY, train_config=TRAIN, chip=CHIP, rtl_size=16)
    printed = capsys.readouterr().out
    # the network is the paper's shape: the 32 inputs split over two tiles, then a chain
    assert len(s["placement"]) == 4
    rows = s["accuracy"]
    want = {"float software", "golden, quantization only",
            "golden, programming + read noise, t0"}
    want |= {f"drift {label}, compensation {c}" for _, label in flow.TIMES[1:]
             for c, _ in flow.SCOPES}
    assert set(rows) == want
    assert rows["golden, programming + read noise, t0"]["n"] == 2
    assert all(0.0 <= r["mean"] <= 1.0 for r in rows.values())
    # the confusion matrix holds every test clip once, and its diagonal is the first device
    # seed's t0 accuracy
    cm = np.asarray(s["confusion_t0"])
    assert cm.shape == (len(CLASSES), len(CLASSES)) and cm.sum() == TINY.n_test
    t0 = json.loads((tmp_path / "summary.json").read_text())["accuracy"][
        "golden, programming + read noise, t0"]["values"]
    assert cm.trace() / TINY.n_test == pytest.approx(t0[0], abs=1e-12)
    # the RTL chip: no mismatch on any word or cycle, and its words are the paper-shaped
    # golden chip's
    r = s["rtl"]
    assert r["mismatches"] == 0 and r["inputs"] == 2 and r["equal_to_reference"] is True
    assert s["energy"]["per_inference_nJ"] > 0 and s["energy"]["latency_ns"] > 0
    for f in ("summary.json", "accuracy_vs_drift.png", "energy.png", "confusion.png"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert "t0 gap to float software (points)" in printed
    assert "0 mismatches (words and cycles)" in printed


def test_command_line_errors(capsys):
    for argv, text in ((["--seeds", "0"], "--seeds must be in [1, 100], not 0"),
                       (["--rtl-inputs", "101"], "--rtl-inputs must be in [0, 100], not 101"),
                       (["--seed", "-1"], "--seed must be in [0, 4294967295], not -1")):
        with pytest.raises(SystemExit) as e:
            kws_flow.main(argv)
        assert e.value.code == 2
        assert text in capsys.readouterr().err
