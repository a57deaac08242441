"""cocotb tests of hdl.programmer.RowProgrammer against golden.program (coroutines only; run by
tests/test_rtl_programmer.py)."""
import os

import cocotb
import numpy as np

from golden.program import ProgramConfig
from golden.spec import ROW_INDEX_BITS
from .blockdrv import run_scenario, seed_from_env
from .programmer_scenario import ProgrammerScenario
from .runner import params_from_env


@cocotb.test()
async def random_rows(dut):
    """Random rows (TEST_COMMANDS, default 200) with random configurations, bad targets,
    commands offered while busy and back-pressure on the result; every output cycle by cycle
    (the live device codes too unless TEST_TRACE_CODES=0; they have no reset, so an earlier
    test's codes are not predicted before this test's first RESET)."""
    seed, p = seed_from_env(), params_from_env()
    scenario = ProgrammerScenario(
        p, np.random.default_rng(seed), commands=int(os.environ.get("TEST_COMMANDS", "200")),
        trace_codes=os.environ.get("TEST_TRACE_CODES", "1") == "1", codes_known=False)
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())


@cocotb.test()
async def default_config_rows(dut):
    """Rows at the default configuration (ProgramConfig(), noise 1x sigma) with a fresh seed
    each (TEST_DEFAULT_ROWS, default 2), one of them offered back to back."""
    seed, p = seed_from_env(), params_from_env()
    rng = np.random.default_rng(seed + 1)
    rows = int(os.environ.get("TEST_DEFAULT_ROWS", "2"))
    configs = [ProgramConfig(seed=int(rng.integers(0, 1 << 32))) for _ in range(rows)]
    scenario = ProgrammerScenario(p, rng, commands=rows, bad=0.0, back_to_back=0.5,
                                  stall=0.5, configs=configs, codes_known=False,
                                  trace_codes=os.environ.get("TEST_TRACE_CODES", "1") == "1")
    scenario.check(await run_scenario(dut, scenario), seed)
    cocotb.log.info(scenario.summary())


@cocotb.test()
async def simulation_speed(dut):
    """Informational: simulated cycles per wall second while idle (the cost the block adds to
    a tile that is not programming) and while programming rows back to back."""
    import time

    from cocotb.triggers import FallingEdge, RisingEdge, Timer

    from golden.program import ProgramConfig as Cfg
    from hdl.verilog import CLOCK_PERIOD_NS
    from .pack import pack_words
    from .runner import idle_inputs

    p = params_from_env()
    idle_inputs(dut, reset=True)
    await Timer(2 * CLOCK_PERIOD_NS, "ns")
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    idle = int(os.environ.get("TEST_IDLE_CYCLES", "20000"))
    start = time.perf_counter()
    await Timer(idle * CLOCK_PERIOD_NS, "ns")
    idle_rate = idle / (time.perf_counter() - start)
    rng = np.random.default_rng(seed_from_env())
    cfg = Cfg()
    dut.seed.value, dut.tol.value, dut.pulse_gain.value = cfg.seed, cfg.tol, cfg.pulse_gain
    dut.noise_scale.value, dut.max_iter.value = cfg.noise_scale, cfg.max_iter
    dut.result__ready.value = 1
    rows = int(os.environ.get("TEST_SPEED_ROWS", "4"))
    t = rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)
    dut.cmd__payload.value = 3 | pack_words(t, p.target_bits) << ROW_INDEX_BITS
    dut.cmd__valid.value = 1
    first = int(dut.tb_cycle.value)
    start = time.perf_counter()
    for _ in range(rows):
        await RisingEdge(dut.result__valid)
    await FallingEdge(dut.clk)
    busy_cycles = int(dut.tb_cycle.value) - first
    busy_rate = busy_cycles / (time.perf_counter() - start)
    dut.cmd__valid.value = 0
    cocotb.log.info(f"{p.cols} columns: idle {idle_rate:,.0f} cycles/s; programming "
                    f"{rows} rows back to back ({busy_cycles} cycles) {busy_rate:,.0f} cycles/s")
