"""cocotb tests of the chip (coroutines only; run by tests/test_rtl_chip.py): the scenarios of
tb/chip_scenarios.py through cocotbext-axi's bus-functional models (tb/chipdrv.py)."""
import json
import os
import time
from pathlib import Path

import cocotb

from golden.spec import InputMode
from . import chip_scenarios as sc
from .chipdrv import ChipTB


def _seed() -> int:
    return int(os.environ.get("TEST_SEED", "1"))


async def _start(dut) -> ChipTB:
    tb = ChipTB(dut)
    await tb.reset()
    return tb


@cocotb.test()
async def chained_pass(dut):
    """ILP 0 -> two tiles -> OLP 0, both input modes, every word and cycle."""
    tb = await _start(dut)
    for mode in InputMode:
        # each scenario compares against a fresh golden chip: reset the RTL chip's registers
        # (the tiles' MVM counts key the read noise)
        await tb.reset()
        await sc.chained_pass(tb, tb.p, _seed() + int(mode), mode)


@cocotb.test()
async def routing_scenarios(dut):
    """Multicast, concatenation, a wrap, two pairs; a refused routing of every class."""
    tb = await _start(dut)
    await sc.routing_scenarios(tb, tb.p, _seed())


@cocotb.test()
async def random_routes(dut):
    """Random legal routings (chains, multicast, concatenation) with idle gaps on the input
    stream and back-pressure on the output stream."""
    tb = await _start(dut)
    await sc.random_routes(tb, tb.p, _seed(), routings=int(os.environ.get("CHIP_ROUTINGS", "6")),
                           pause_in=0.2, pause_out=0.3)


@cocotb.test()
async def idle_and_back_pressure(dut):
    """The source's and the sink's pause generators: every handshake and output where the
    golden chip puts them, and the stalls delay the outputs."""
    tb = await _start(dut)
    if tb.p.pairs >= 2:
        await sc.traffic(tb, tb.p, _seed())


@cocotb.test()
async def chain_of_three(dut):
    """ILP 0 -> three tiles -> OLP 0."""
    tb = await _start(dut)
    if tb.p.tiles >= 3:
        await sc.chained_pass(tb, tb.p, _seed(), InputMode.SIGNED,
                              chain=sc.legal_chain(tb.p, 3))


@cocotb.test()
async def reset_mid_pass(dut):
    """BAD_DEST, the tiles' registers through their windows, reset in the middle of a chained
    pass."""
    tb = await _start(dut)
    await sc.reset_mid_pass(tb, tb.p, _seed())


@cocotb.test(skip=os.environ.get("CHIP_ROUTED", "0") == "0")
async def routed_pass(dut):
    """ILP 0 -> the tiles of ``CHIP_CHAIN`` (default: the first and the last tile) -> OLP 0,
    ``CHIP_BEATS`` beats (default 2), every word and cycle against the golden chip. With
    ``TEST_SUMMARY``: the stream's simulated cycles and wall time to that JSON file (the
    programming and the register writes before it left out)."""
    tb = await _start(dut)
    chain = [int(t) for t in os.environ.get("CHIP_CHAIN", f"0,{tb.p.tiles - 1}").split(",")]
    beats = int(os.environ.get("CHIP_BEATS", "2"))
    timing = {}
    stream = tb.stream

    async def timed(run, **kwargs):
        cycle, start = int(dut.tb_cycle.value), time.perf_counter()
        traffic = await stream(run, **kwargs)
        timing.update(cycles=int(dut.tb_cycle.value) - cycle,
                      seconds=time.perf_counter() - start)
        return traffic

    tb.stream = timed
    start = time.perf_counter()
    want = await sc.chained_pass(tb, tb.p, _seed(), InputMode.UNSIGNED, chain=chain,
                                 beats=beats)
    summary = os.environ.get("TEST_SUMMARY")
    if summary:
        Path(summary).write_text(json.dumps({
            "tiles": tb.p.tiles, "chain": chain, "beats": beats,
            "outputs": len(want.outputs), "mismatches": 0,
            "stream_cycles": timing["cycles"], "stream_seconds": timing["seconds"],
            "cycles_per_second": timing["cycles"] / timing["seconds"],
            "passes_per_second": beats / timing["seconds"],
            "total_seconds": time.perf_counter() - start}))


def _random_plan(p, seed):
    """A random network mapped on chip ``p``: with one pair, two layers chained tile to tile
    (ReLU hidden layer, identity output); with two pairs or more, one layer with twice a
    tile's rows less two inputs, split over its inputs (two tiles, two ILPs, two OLPs, the
    partial sums added on the host); with three or more, that layer then a second one."""
    import numpy as np
    from mapper import Dense, Network
    from mapper.plan import plan_network
    rng = np.random.default_rng(seed)
    n = p.tile.rows
    hidden = max(1, n - 1)
    if p.pairs == 1:
        sizes = [n, hidden, 3]
    elif p.pairs == 2:
        sizes = [2 * n - 2, 3]
    else:
        sizes = [2 * n - 2, hidden, 3]
    layers = [Dense(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.1,
                    "identity" if i == len(sizes) - 2 else "relu")
              for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    net = Network(layers)
    plan = plan_network(net, p, calibration_x=rng.uniform(0, 1, size=(64, sizes[0])))
    return plan, rng.uniform(0, 1, size=(4, sizes[0]))


@cocotb.test()
async def plan_pass(dut):
    """A network's chip plan (``mapper.plan``): its host sequence (register writes, closed-loop
    programming of every target row, the routing commit), then float inputs as beats; every
    handshake, output cycle and word against the golden chip that ran the same sequence.
    ``PLAN_FILE`` (JSON) and ``PLAN_INPUTS`` (``.npy``, float inputs) choose the plan and the
    inputs; by default a random two-layer network on this chip. ``PLAN_CLOSED_LOOP=0``: the
    tiles' codes as row writes (``Plan.host_sequence(closed_loop=False)``). With
    ``TEST_SUMMARY``: the words, cycles and wall time to that JSON file."""
    import numpy as np
    from mapper.plan import Plan
    tb = await _start(dut)
    plan_file = os.environ.get("PLAN_FILE")
    if plan_file:
        plan = Plan.from_json(Path(plan_file).read_text())
        assert plan.chip == tb.p, "the plan is for another chip"
        x = np.load(os.environ["PLAN_INPUTS"])
    else:
        plan, x = _random_plan(tb.p, _seed())
    start = time.perf_counter()
    cycle = int(dut.tb_cycle.value)
    want, words, _ = await sc.plan_pass(tb, plan, x, seed=_seed(),
                                        closed_loop=os.environ.get("PLAN_CLOSED_LOOP", "1") == "1")
    summary = os.environ.get("TEST_SUMMARY")
    if summary:
        Path(summary).write_text(json.dumps({
            "inputs": len(x), "outputs": len(want.outputs), "mismatches": 0,
            "words": words.tolist(), "output_cycles": [o.cycle for o in want.outputs],
            "cycles": int(dut.tb_cycle.value) - cycle,
            "seconds": time.perf_counter() - start}))
