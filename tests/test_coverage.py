# amaranth: UnusedElaboratable=no
"""Functional coverage (tb/coverage.py), enforced: the scenarios that feed it run here in
amaranth.sim at small sizes with fixed seeds, each checking the RTL against the golden model
as it does in its own test; the report is written to build/coverage/sim.json and printed, and
the test fails naming every bin that no scenario hit.

``python -m tb.coverage`` prints the report again (merged with any other run's file in
build/coverage/, e.g. the cocotb tile tests')."""
import dataclasses
import time

from golden.spec import InputMode
from tb import chip_scenarios as sc
from tb import coverage
from tb.calibration_scenario import run_calibration_scenario
from tb.fault_scenario import run_fault_scenario
from tb.chipsim import run_chip_sim
from tb.simdrv import run_sim
from tests import test_sim_corners as corners
from tests.test_sim_chip_mesh import GRIDS
from tests.test_sim_tile import PARAM_SETS

SEED = 1


def _calibration():
    p = PARAM_SETS[0]

    async def bench(drv, ctx, dut):
        await run_calibration_scenario(drv, p, SEED, log=lambda *_: None)
    run_sim(p, bench)


def _faults():
    """Stuck devices, a dead lane and a dead column (tb.fault_scenario): calibration reports
    the dead column (ERROR.cal_dead)."""
    p = dataclasses.replace(PARAM_SETS[0], fault_injection=True)

    async def bench(drv, ctx, dut):
        await run_fault_scenario(drv, p, SEED, log=lambda *_: None)
    run_sim(p, bench)


def _chip_routings():
    """Multicast, concatenation and a refused routing of every class (tb.chip_scenarios)."""
    async def bench(drv, ctx, dut):
        await sc.routing_scenarios(drv, GRIDS["2x2"], SEED)
    run_chip_sim(GRIDS["2x2"], bench)


def _chip_traffic():
    """Idle cycles on the input stream, back-pressure on the output stream."""
    async def bench(drv, ctx, dut):
        await sc.traffic(drv, GRIDS["2x2"], SEED)
    run_chip_sim(GRIDS["2x2"], bench)


SCENARIOS = {
    "tile corners, 4-PCM": lambda: corners.test_mvm_corners(corners.P4),
    "tile corners, 2-PCM": lambda: corners.test_mvm_corners(corners.P2),
    "reset in every phase": corners.test_reset_in_every_phase,
    "illegal register values": corners.test_every_register_refuses_its_illegal_values,
    "lane errors": corners.test_lane_errors,
    "closed-loop programming": corners.test_closed_loop_outcomes,
    "streams held while busy": corners.test_streams_wait_while_busy,
    "impossible switches": corners.test_impossible_switch_is_refused,
    "calibration": _calibration,
    "faults": _faults,
    "chip routings": _chip_routings,
    "chip traffic": _chip_traffic,
}


def test_functional_coverage():
    coverage.reset()
    times = {}
    for name, run in SCENARIOS.items():
        t0 = time.perf_counter()
        run()
        times[name] = time.perf_counter() - t0
    data = coverage.report("sim")
    print(coverage.format_report(data))
    print("scenarios: " + ", ".join(f"{n} {t:.1f} s" for n, t in times.items()))
    assert not data["missed"], (f"{len(data['missed'])} of {data['bins']} coverage bins "
                                f"missed: " + "; ".join(data["missed"]))
