# amaranth: UnusedElaboratable=no
"""Fast tier: the chip (tiles, mesh, pairs, host interface) in amaranth.sim against the golden
chip model, every output word and every cycle."""
import numpy as np
import pytest

from golden.chip.model import Chip as GoldenChip
from golden.chip.routing import Routing, Switch, ilp, olp, tile
from golden.spec import Activation, InputMode, InputSource, Phase, TileConfig
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
    taken = sorted([e.cycle for e in want.ilp] + [b.cycle for b in want.bad_dest])
    assert got_handshakes == taken, (got_handshakes, want.ilp, want.bad_dest)
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


def scenario_routings(p):
    """Legal routings of the 2 x 2 chip that use multicast, concatenation, wraps and both
    pairs, and one illegal routing of every class."""
    legal = []
    r = Routing.empty(p)                    # multicast, then concatenation of the two halves
    r.multicast(ilp(0), [tile(0), tile(1)])
    r.concatenate(tile(3), [(tile(0), [0], "n"), (tile(1), [1], "n")])
    r.connect(tile(3), olp(1))
    legal.append(("multicast+concatenation", r))
    r = Routing.empty(p)                    # tile 3 feeds tile 1 through a column's wrap
    r.connect(ilp(1), tile(3))
    r.connect(tile(3), tile(1), drive="n")
    r.connect(tile(1), olp(0))
    legal.append(("wraps", r))
    r = Routing.empty(p)                    # two pairs at once, disjoint
    r.chain(0, [1], olp_pair=0)
    r.chain(1, [3], olp_pair=1)
    legal.append(("two pairs", r))
    illegal = []
    r = Routing.empty(p)
    r.connect(ilp(0), tile(1))
    r.set(Switch("wrap_h", 0, None, 0))                     # ILP and wrap onto H(0, 0)
    illegal.append(("conflict", r))
    r = Routing.empty(p)
    r.connect(tile(0), tile(3))
    r.connect(tile(3), tile(0))
    illegal.append(("loop", r))
    r = Routing.empty(p)
    r.connect(ilp(0), tile(2))              # tile 2 stays in HOST mode
    illegal.append(("not_lanes", r))
    r = Routing.empty(p)
    r.connect(ilp(0), tile(0))
    r.set(Switch("pass_e", 0, 0, 0))                        # H(0, 1) driven, read by nothing
    illegal.append(("dead_end", r))
    return legal, illegal


def test_routing_scenarios(seed):
    """Multicast, concatenation, wraps and two pairs in flight, each equal to golden.chip; an
    illegal routing of every class is refused with its CHIP_ERROR bit and leaves the active
    routing (and the next pass) unchanged."""
    from golden.chip.regs import ChipErrorBit, RouteVerdict
    from golden.chip.routing import check
    p = GRIDS["2x2"]
    rng = np.random.default_rng(seed)
    gold = GoldenChip(p)
    legal, illegal = scenario_routings(p)
    lanes = [0, 1, 3]                       # tile 2 stays in HOST mode
    for name, r in legal:
        result = check(r, lanes_mode=[t in lanes for t in range(p.tiles)])
        assert result.ok, (name, result.reasons())
    assert any(f.wraps for _, _, f in check(legal[1][1]).sources.feeds())
    for name, r in illegal:
        assert check(r, lanes_mode=[t in lanes for t in range(p.tiles)]).broken == (name,), \
            (name, check(r, lanes_mode=[t in lanes for t in range(p.tiles)]).reasons())
    codes = {t: random_codes(rng, p.tile) for t in range(p.tiles)}
    configs = {t: lanes_config(rng, p) for t in lanes}

    async def bench(drv, ctx, dut):
        for t in range(p.tiles):
            await drv.program(t, codes[t])
            gold.program(t, codes[t])
        for t, cfg in configs.items():
            await drv.configure(t, cfg)
            gold.configure(t, cfg)
        modes = [InputMode.SIGNED, InputMode.UNSIGNED]
        await drv.set_pair_modes(modes)
        for k, mode in enumerate(modes):
            gold.set_pair_mode(k, mode)
        error_addr = drv.regs.map["CHIP_ERROR"].offset
        for (name, r), (bad_name, bad) in zip(legal + legal[:1], illegal):
            status = await drv.route(r)
            assert status >> 1 & 3 == RouteVerdict.APPLIED, (name, hex(status))
            gold.set_routing(r)
            beats = [(int(k), random_inputs(rng, p.tile, modes[int(k)], 1)[0])
                     for k in rng.integers(0, p.pairs, size=3)]
            handshakes, outputs = await drv.stream(beats)
            check_stream(gold, beats, handshakes, outputs, seed)
            # an illegal routing: refused, its error bit, the active routing kept
            status = await drv.route(bad)
            assert status >> 1 & 3 == RouteVerdict.REFUSED, (bad_name, hex(status))
            error, _ = await drv.csr_read(error_addr)
            assert error == 1 << ChipErrorBit["ROUTE_" + bad_name.upper()], (bad_name, error)
            assert await drv.csr_write(error_addr, error) == 0
            drv.regs.write(error_addr, error)
            handshakes, outputs = await drv.stream(beats)
            check_stream(gold, beats, handshakes, outputs, seed)

    run_chip_sim(p, bench)


def test_reset_mid_pass_and_tile_windows(seed):
    """A beat for a pair that does not exist is consumed with BAD_DEST; the tiles' registers
    read through their windows; reset in the middle of a chained pass leaves the codes (PCM is
    non-volatile) and the next passes equal a fresh golden chip's."""
    from golden.chip.regs import ChipErrorBit, tile_address
    from golden.regs import REGISTERS
    p = GRIDS["2x3e"]
    rng = np.random.default_rng(seed)
    routing = Routing.empty(p)
    routing.chain(0, [3, 4], olp_pair=0)
    codes = {t: random_codes(rng, p.tile) for t in (3, 4)}
    configs = {t: lanes_config(rng, p) for t in (3, 4)}
    xs = random_inputs(rng, p.tile, InputMode.UNSIGNED, 3)

    def fresh():
        gold = GoldenChip(p)
        for t in (3, 4):
            gold.program(t, codes[t])
            gold.configure(t, configs[t])
        gold.set_routing(routing)
        return gold

    async def setup(drv, program):
        for t in (3, 4):
            if program:
                await drv.program(t, codes[t])
            await drv.configure(t, configs[t])
        assert (await drv.route(routing)) >> 1 & 3 == 1

    async def bench(drv, ctx, dut):
        await setup(drv, program=True)
        gold = fresh()
        beats = [(0, x) for x in xs]
        handshakes, outputs = await drv.stream(beats + [(1, xs[0])] + beats[:1])
        want = check_stream(gold, beats + [(1, xs[0])] + beats[:1], handshakes, outputs, seed)
        assert [b.cycle for b in want.bad_dest] == [handshakes[len(beats)]]
        error, _ = await drv.csr_read(drv.regs.map["CHIP_ERROR"].offset)
        assert error == 1 << ChipErrorBit.BAD_DEST
        for t in (3, 4):
            count, _ = await drv.csr_read(tile_address(t, REGISTERS["MVM_COUNT"].address))
            assert count == len(want.tile_runs(t)), (t, count)
            latency, _ = await drv.csr_read(tile_address(t, REGISTERS["LAST_LATENCY"].address))
            assert latency == want.tile_runs(t)[-1].timing.latency
        # reset while the pass is in tile 4
        evaluate = want.tile_runs(4)[0].phases[Phase.EVALUATE].first
        await drv.stream(beats[:1], stop_after=evaluate - want.ilp[0].cycle + 2)
        await drv.reset()
        for t in (3, 4):
            count, _ = await drv.csr_read(tile_address(t, REGISTERS["MVM_COUNT"].address))
            assert count == 0
        await setup(drv, program=False)
        gold = fresh()
        handshakes, outputs = await drv.stream(beats)
        check_stream(gold, beats, handshakes, outputs, seed)

    run_chip_sim(p, bench)
