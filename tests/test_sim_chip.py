# amaranth: UnusedElaboratable=no
"""Fast tier: the chip (tiles, mesh, pairs, host interface) in amaranth.sim against the golden
chip model, every output word and every cycle."""
import numpy as np
import pytest

from golden.chip.model import Chip as GoldenChip
from golden.chip.routing import Routing, ilp, olp, tile
from golden.spec import Activation, InputMode, InputSource, TileConfig
from tb.chipsim import run_chip_sim
from tb.scoreboard import assert_equal_arrays
from tb.stimulus import random_codes, random_inputs
from tests.test_sim_chip_mesh import GRIDS


def lanes_config(rng, p, activation=Activation.RELU):
    return TileConfig(input_source=InputSource.LANES, activation=activation,
                      ramp_shift=int(rng.integers(2, 5)),
                      noise_sigma=int(rng.choice([0, 40])),
                      noise_seed=int(rng.integers(0, 1 << 32)))


def check_stream(gold, beats, got_handshakes, got_outputs, seed):
    want = gold.run_stream(beats)
    assert got_handshakes == [e.cycle for e in want.ilp], (got_handshakes, want.ilp)
    assert [(c, k) for c, k, _ in got_outputs] == [(o.cycle, o.pair) for o in want.outputs], \
        ([(c, k) for c, k, _ in got_outputs], [(o.cycle, o.pair) for o in want.outputs])
    for (c, k, words), o in zip(got_outputs, want.outputs):
        assert_equal_arrays(o.words, words, f"OLP {k} words on cycle {c}", seed)
    return want


@pytest.mark.parametrize("mode", list(InputMode))
def test_chain_of_two_tiles(mode, seed):
    """ILP 0 -> tile 0 -> tile 3 -> OLP 0 on a 2 x 2 chip: the hidden layer goes tile to tile
    as pulses (ReLU by EN), several beats back to back."""
    p = GRIDS["2x2"]
    rng = np.random.default_rng(seed)
    gold = GoldenChip(p)
    routing = Routing.empty(p)
    routing.chain(0, [0, 3], olp_pair=0)
    codes = {t: random_codes(rng, p.tile) for t in (0, 3)}
    configs = {t: lanes_config(rng, p) for t in (0, 3)}
    xs = random_inputs(rng, p.tile, mode, 4)

    async def bench(drv, ctx, dut):
        for t in (0, 3):
            await drv.program(t, codes[t])
            gold.program(t, codes[t])
            await drv.configure(t, configs[t])
            gold.configure(t, configs[t])
        await drv.set_pair_modes([mode, InputMode.UNSIGNED])
        gold.set_pair_mode(0, mode)
        status = await drv.route(routing)
        assert status >> 1 & 3 == 1, hex(status)          # APPLIED
        gold.set_routing(routing)
        beats = [(0, x) for x in xs]
        handshakes, outputs = await drv.stream(beats)
        check_stream(gold, beats, handshakes, outputs, seed)

    run_chip_sim(p, bench)
