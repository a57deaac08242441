"""A small version of the digits flow (mapper.digits) in the suite: a short hardware-aware
training, the MLP mapped onto a 1 x 2 chip of 64 x 64 tiles, the whole test set through the
golden chip. Tolerances (float reference against the integer chip): the chip with quantization
only stays within 2 points of the float accuracy, with programming and read noise at t0
within 3 points, and the tile's per-column compensation after 1 year of drift within 5."""
import numpy as np
import pytest

from mapper import digits
from mapper.train import TrainConfig, accuracy, digits_data, train_cached


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x_tr, y_tr, x_te, y_te = digits_data(seed=0)
    net = train_cached(x_tr, y_tr, TrainConfig(seed=0, epochs=15, hidden=(32,)),
                       cache_dir=tmp_path_factory.mktemp("train"), progress=False)
    return net, x_tr, x_te, y_te


def test_digits_on_the_golden_chip(trained):
    net, x_tr, x_te, y_te = trained
    chip = digits.rtl_chip(64)
    rows = digits.study(net, chip, x_tr, x_te, y_te, seeds=1)
    fl = accuracy(net, x_te, y_te)
    assert fl > 0.93
    assert abs(rows["golden, quantization only"][0] - fl) <= 0.02, (rows, fl)
    assert rows["golden, programming + read noise, t0"][0] >= fl - 0.03, (rows, fl)
    assert rows["drift 1 year, compensation per column"][0] >= fl - 0.05, (rows, fl)
    assert len(rows) == 2 + 4 * 3


def test_digits_energy_report(trained):
    net, x_tr, x_te, _ = trained
    br, single = digits.energy_report(net, digits.rtl_chip(64), x_tr, x_te[:50])
    assert br.inferences == 50 and single.inferences == 1
    # the MACs of the mapped layers, per inference
    assert br.ops == 50 * 2 * (64 * 32 + 32 * 10)
    assert br.energy_per_inference > 0 and single.latency > 0


def test_digits_command_line_errors(capsys):
    for argv, text in ((["--seeds", "0"], "--seeds must be in [1, 100], not 0"),
                       (["--rtl-size", "48"], "--rtl-size must be a power of two in [64, 512]"),
                       (["--rtl-inputs", "451"], "--rtl-inputs must be in [0, 450], not 451"),
                       (["--seed", "-1"], "--seed must be in [0, 4294967295], not -1")):
        with pytest.raises(SystemExit):
            digits.main(argv)
        assert text in capsys.readouterr().err


def test_digits_split_costs_little(trained):
    """The network on 32 x 32 tiles: 64 inputs and 32 hidden units, so layer 0 splits over
    its inputs (partial sums on the host). Tolerance: within 3 points of the float accuracy
    with quantization only."""
    net, x_tr, x_te, y_te = trained
    rows = digits.split_study(net, x_tr, x_te, y_te, seeds=1)
    (label, quiet), (_, noisy) = rows.items()
    assert label.startswith("split over 3 tiles of 32 x 32")
    fl = accuracy(net, x_te, y_te)
    assert quiet[0] >= fl - 0.03 and noisy[0] >= fl - 0.04, (rows, fl)


def test_the_rtl_chip_computes_what_the_paper_chip_does(trained):
    """The RTL run's small chip (1 x 2 tiles of 64 x 64) and the paper's chip (34 tiles of
    512 x 512) hold the same mapping: the same output words for the same inputs, read noise
    and programming noise on (each chip fresh: the MVM counts key the read noise)."""
    from golden.chip.params import ChipParams
    from mapper import flow
    net, x_tr, x_te, _ = trained
    small = flow.make_plan(net, digits.rtl_chip(64), x_tr, 0, quiet=False)
    paper = flow.make_plan(net, ChipParams(), x_tr, 0, quiet=False)
    a = small.infer(small.golden_chip(), x_te[:20])[1]["words"]
    b = paper.infer(paper.golden_chip(), x_te[:20])[1]["words"]
    np.testing.assert_array_equal(a[:, :10], b[:, :10])
