"""Chip scenarios written against the driver protocol (``tb.protocol.ChipDriver``): the same
coroutine runs on amaranth.sim (``tb.chipsim``) and under cocotb (``tb.chipdrv``), and checks
every output word and every cycle against the golden chip (``golden.chip``)."""
from __future__ import annotations

import itertools

import numpy as np

from golden.chip.model import Chip as GoldenChip
from golden.chip.regs import CHIP_MAP, ChipErrorBit, RouteVerdict, chip_address, tile_address
from golden.chip.routing import Routing, Switch, check, ilp, olp, random_routing, tile
from golden.regs import OKAY, REGISTERS
from golden.spec import Activation, InputMode, InputSource, Phase, TileConfig
from .scoreboard import assert_equal_arrays
from .stimulus import random_codes, random_inputs

__all__ = ["lanes_config", "check_stream", "chained_pass", "scenario_routings",
           "routing_scenarios", "reset_mid_pass", "random_routes", "traffic", "legal_chain",
           "run_host_sequence", "plan_pass"]

#: Addresses of ROUTE_CMD and ROUTE_STATUS.
CHIP_MAP_OFFSETS = (chip_address(CHIP_MAP["ROUTE_CMD"].offset),
                    chip_address(CHIP_MAP["ROUTE_STATUS"].offset))


def lanes_config(rng, p, activation=Activation.RELU):
    return TileConfig(input_source=InputSource.LANES, activation=activation,
                      ramp_shift=int(rng.integers(2, 5)),
                      noise_sigma=int(rng.choice([0, 40])),
                      noise_seed=int(rng.integers(0, 1 << 32)))


def check_stream(gold, beats, traffic, seed):
    """The golden chip's run of ``beats`` (with the idle gaps and host stalls the driver saw)
    against what the RTL did: every handshake cycle, every output's cycle and pair, every
    word."""
    got_handshakes, got_outputs = traffic.handshakes, traffic.outputs
    want = gold.run_stream(beats, gaps=traffic.gaps, stalls=traffic.stalls)
    taken = sorted([e.cycle for e in want.ilp] + [b.cycle for b in want.bad_dest])
    assert got_handshakes == taken, (seed, got_handshakes, want.ilp, want.bad_dest)
    assert [(c, k) for c, k, _ in got_outputs] == [(o.cycle, o.pair) for o in want.outputs], \
        (seed, [(c, k) for c, k, _ in got_outputs], [(o.cycle, o.pair) for o in want.outputs])
    for (c, k, words), o in zip(got_outputs, want.outputs):
        assert_equal_arrays(o.words, words, f"OLP {k} words on cycle {c}", seed)
    return want


async def _setup(drv, gold, tiles, codes, configs, program=True):
    for t in tiles:
        if program:
            await drv.program(t, codes[t])
            gold.program(t, codes[t])
    for t, cfg in configs.items():
        await drv.configure(t, cfg)
        gold.configure(t, cfg)


async def chained_pass(drv, params, seed, mode=InputMode.UNSIGNED, chain=None, beats=4):
    """ILP 0 -> the tiles of ``chain`` -> OLP 0: the hidden layers go tile to tile as pulses
    (ReLU by EN), ``beats`` vectors back to back."""
    p = params
    rng = np.random.default_rng(seed)
    chain = list(chain or [0, p.tiles - 1])
    gold = GoldenChip(p)
    routing = Routing.empty(p)
    routing.chain(0, chain, olp_pair=0)
    codes = {t: random_codes(rng, p.tile) for t in chain}
    await _setup(drv, gold, chain, codes, {t: lanes_config(rng, p) for t in chain})
    modes = [mode] + [InputMode.UNSIGNED] * (p.pairs - 1)
    await drv.set_pair_modes(modes)
    gold.set_pair_mode(0, mode)
    status = await drv.route(routing)
    assert status >> 1 & 3 == RouteVerdict.APPLIED, hex(status)
    gold.set_routing(routing)
    vectors = [(0, x) for x in random_inputs(rng, p.tile, mode, beats)]
    return check_stream(gold, vectors, await drv.stream(vectors), seed)


def legal_chain(p, n: int) -> list:
    """The first chain of ``n`` distinct tiles (in the order of ``itertools.permutations``)
    that ILP 0 -> the chain -> OLP 0 can route legally."""
    for chain in itertools.permutations(range(p.tiles), n):
        r = Routing.empty(p)
        try:
            r.chain(0, chain, olp_pair=0)
        except ValueError:
            continue
        if check(r).ok:
            return list(chain)
    raise ValueError(f"no legal chain of {n} tiles on this chip")


def scenario_routings(p):
    """Legal routings of a 2 x 2 chip (two pairs) that use multicast, concatenation, a wrap
    and both pairs, and one illegal routing of every class (tile 2 stays in HOST mode)."""
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


async def routing_scenarios(drv, params, seed):
    """Each legal routing of :func:`scenario_routings` runs passes equal to golden.chip; each
    illegal one is refused with its CHIP_ERROR bit and leaves the active routing (and the next
    passes) unchanged."""
    p = params
    rng = np.random.default_rng(seed)
    gold = GoldenChip(p)
    legal, illegal = scenario_routings(p)
    lanes = [0, 1, 3]
    for name, r in legal:
        result = check(r, lanes_mode=[t in lanes for t in range(p.tiles)])
        assert result.ok, (name, result.reasons())
    for name, r in illegal:
        assert check(r, lanes_mode=[t in lanes for t in range(p.tiles)]).broken == (name,), name
    codes = {t: random_codes(rng, p.tile) for t in range(p.tiles)}
    await _setup(drv, gold, range(p.tiles), codes, {t: lanes_config(rng, p) for t in lanes})
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
        check_stream(gold, beats, await drv.stream(beats), seed)
        status = await drv.route(bad)
        assert status >> 1 & 3 == RouteVerdict.REFUSED, (bad_name, hex(status))
        error, _ = await drv.csr_read(error_addr)
        assert error == 1 << ChipErrorBit["ROUTE_" + bad_name.upper()], (bad_name, error)
        assert await drv.csr_write(error_addr, error) == 0
        drv.regs.write(error_addr, error)
        check_stream(gold, beats, await drv.stream(beats), seed)


async def reset_mid_pass(drv, params, seed):
    """A beat for a pair that does not exist is consumed with BAD_DEST (when TDEST can name
    one: the number of pairs is not a power of two); the tiles' registers
    read through their windows; reset in the middle of a chained pass leaves the codes (PCM is
    non-volatile) and the next passes equal a fresh golden chip's."""
    p = params
    rng = np.random.default_rng(seed)
    chain = [p.tiles - 2, p.tiles - 1]
    routing = Routing.empty(p)
    routing.chain(0, chain, olp_pair=0)
    codes = {t: random_codes(rng, p.tile) for t in chain}
    configs = {t: lanes_config(rng, p) for t in chain}
    xs = random_inputs(rng, p.tile, InputMode.UNSIGNED, 3)

    async def setup(program):
        gold = GoldenChip(p)
        await _setup(drv, gold, chain, codes, configs, program=program)
        if not program:
            for t in chain:
                gold.program(t, codes[t])
        assert (await drv.route(routing)) >> 1 & 3 == RouteVerdict.APPLIED
        gold.set_routing(routing)
        return gold

    gold = await setup(program=True)
    beats = [(0, x) for x in xs]
    bad = (1 << max(1, (p.pairs - 1).bit_length())) - 1     # no such pair, if TDEST has room
    run = beats + ([(bad, xs[0])] + beats[:1] if bad >= p.pairs else [])
    want = check_stream(gold, run, await drv.stream(run), seed)
    assert len(want.bad_dest) == (bad >= p.pairs)
    error, _ = await drv.csr_read(drv.regs.map["CHIP_ERROR"].offset)
    assert error == (1 << ChipErrorBit.BAD_DEST if bad >= p.pairs else 0), error
    for t in chain:
        count, _ = await drv.csr_read(tile_address(t, REGISTERS["MVM_COUNT"].address))
        assert count == len(want.tile_runs(t)), (t, count)
        latency, _ = await drv.csr_read(tile_address(t, REGISTERS["LAST_LATENCY"].address))
        assert latency == want.tile_runs(t)[-1].timing.latency
    # reset while the pass is in the second tile
    evaluate = want.tile_runs(chain[1])[0].phases[Phase.EVALUATE].first
    await drv.stream(beats[:1], stop_after=evaluate - want.ilp[0].cycle + 2)
    await drv.reset()
    for t in chain:
        count, _ = await drv.csr_read(tile_address(t, REGISTERS["MVM_COUNT"].address))
        assert count == 0
    gold = await setup(program=False)
    check_stream(gold, beats, await drv.stream(beats), seed)


async def random_routes(drv, params, seed, routings=6, beats=3, pause_in=0.0, pause_out=0.0):
    """``routings`` random legal routings (``golden.chip.routing.random_routing``: chains,
    multicast, concatenation, random drive sides), each committed and run with ``beats``
    random beats of the pairs it uses (idle gaps and host stalls with the given chances),
    every word and cycle against the golden chip."""
    p = params
    rng = np.random.default_rng(seed)
    gold = GoldenChip(p)
    codes = {t: random_codes(rng, p.tile) for t in range(p.tiles)}
    await _setup(drv, gold, range(p.tiles), codes,
                 {t: lanes_config(rng, p) for t in range(p.tiles)})
    modes = [InputMode(int(m)) for m in rng.integers(0, 2, size=p.pairs)]
    await drv.set_pair_modes(modes)
    for k, mode in enumerate(modes):
        gold.set_pair_mode(k, mode)
    for i in range(routings):
        routing, what = random_routing(rng, p)
        status = await drv.route(routing)
        assert status >> 1 & 3 == RouteVerdict.APPLIED, (what, hex(status))
        gold.set_routing(routing)
        used = [k for k in range(p.pairs) if gold.reach(k).tiles or gold.reach(k).olps]
        run = [(int(k), random_inputs(rng, p.tile, modes[int(k)], 1)[0])
               for k in rng.choice(used, size=beats)]
        traffic = await drv.stream(run, pause_in=pause_in, pause_out=pause_out,
                                   seed=seed + i)
        try:
            check_stream(gold, run, traffic, seed)
        except AssertionError as e:
            raise AssertionError(f"routing {i} ({what}): {e}") from None


async def traffic(drv, params, seed, beats=6):
    """Idle cycles on the input stream and back-pressure on the output stream of a 2 x 2 chip:
    two pairs in flight (tiles 0 -> 1 and tile 3), beats held back (chance 0.9 per cycle) and
    the host not ready (chance 0.9); the golden chip predicts every handshake and output cycle
    from the gaps and stalls the driver saw, and the stalls did delay outputs (the same beats
    back to back, always ready, give other cycles)."""
    p = params
    rng = np.random.default_rng(seed)
    gold = GoldenChip(p)
    r = Routing.empty(p)
    r.chain(0, [0, 1], olp_pair=0)
    r.chain(1, [3], olp_pair=1)
    tiles = [0, 1, 3]
    codes = {t: random_codes(rng, p.tile) for t in tiles}
    configs = {t: lanes_config(rng, p) for t in tiles}
    await _setup(drv, gold, tiles, codes, configs)
    await drv.set_pair_modes([InputMode.UNSIGNED] * p.pairs)
    assert (await drv.route(r)) >> 1 & 3 == RouteVerdict.APPLIED
    gold.set_routing(r)
    run = [(int(k), random_inputs(rng, p.tile, InputMode.UNSIGNED, 1)[0])
           for k in rng.integers(0, 2, size=beats)]
    # high chances, so that a run without a gap (0.1^5) or without a delayed output is
    # practically impossible
    got = await drv.stream(run, pause_in=0.9, pause_out=0.9, seed=seed)
    assert got.stalls and any(got.gaps), (got.gaps, got.stalls)
    free = GoldenChip(p, configs=[configs.get(t, lanes_config(rng, p)) for t in range(p.tiles)])
    free.set_routing(r)
    relaxed = free.schedule([k for k, _ in run])
    want = check_stream(gold, run, got, seed)
    assert [o.cycle for o in want.outputs] != [o.cycle for o in relaxed.outputs]


async def run_host_sequence(drv, ops) -> None:
    """Carry out a plan's host sequence (``mapper.plan.Plan.host_sequence``) through a chip
    driver: register writes (each must answer OKAY), closed-loop target rows (or a tile's
    codes as row writes) on the programming stream, and the routing commit (its check must apply the routing). The
    tiles are waited for between programming and the writes that follow it."""
    programming = False
    for op in ops:
        if op[0] == "program":
            await drv.program_targets(op[1], op[2], op[3])
            programming = True
            continue
        if programming:
            await drv.wait_idle()
            programming = False
        if op[0] == "codes":
            await drv.program(op[1], op[2])
        elif op[0] == "write":
            resp = await drv.csr_write(op[1], op[2])
            assert resp == OKAY, f"write {op[1]:#x} <- {op[2]:#x}: response {resp}"
        elif op[0] == "commit":
            cmd, status = CHIP_MAP_OFFSETS
            assert await drv.csr_write(cmd, 1) == OKAY
            while True:
                value, _ = await drv.csr_read(status)
                if not value & 1:
                    break
            assert value >> 1 & 3 == RouteVerdict.APPLIED, f"ROUTE_STATUS {value:#x}"
        else:
            raise ValueError(f"unknown host operation {op[0]!r}")
    if programming:
        await drv.wait_idle()


async def plan_pass(drv, plan, x, seed: int = 0, pause_in: float = 0.0,
                    pause_out: float = 0.0, closed_loop: bool = True):
    """A network's plan on the RTL chip: the host sequence, then the float inputs ``x``
    segment by segment (each segment's ILPs interleaved, beat by beat; the host's share
    between segments from the words the chip returned); every handshake, output cycle and
    word against the golden chip that executed the same sequence. Returns ``(golden
    StreamResult of the last segment, the last segment's words of the plan's OLP, float
    outputs)``. ``closed_loop``: as in ``Plan.host_sequence``."""
    ops = plan.host_sequence(closed_loop)
    gold = plan.golden_chip(ops)
    await run_host_sequence(drv, ops)
    v = np.atleast_2d(np.asarray(x, dtype=np.float64))
    want, outs = None, {}
    for s in range(len(plan.segments)):
        words, _ = plan.segment_words(s, v)
        beats = [(pair, w[i]) for i in range(v.shape[0]) for pair, w in words]
        traffic = await drv.stream(beats, pause_in=pause_in, pause_out=pause_out, seed=seed)
        want = check_stream(gold, beats, traffic, seed)
        outs = {}
        for _, k, w in traffic.outputs:
            outs.setdefault(k, []).append(np.asarray(w))
        outs = {k: np.array(w) for k, w in outs.items()}
        v = plan.segment_outputs(s, outs)
    return want, outs[plan.olp_pair], v
