# amaranth: UnusedElaboratable=no
"""Fast tier: hdl.programmer.RowProgrammer in amaranth.sim against golden.program, cycle by
cycle: every iteration's device codes, phase and iteration count, the result payload, the
status outputs and the latency of every command."""
import numpy as np
import pytest

from golden.program import ProgramConfig
from golden.spec import TileParams
from hdl.programmer import RowProgrammer
from tb.blocksim import run_scenario
from tb.programmer_scenario import ProgrammerScenario

PARAM_SETS = {
    "c3b4": TileParams(rows=4, cols=3, code_bits=4),
    "c5b5d2": TileParams(rows=4, cols=5, code_bits=5, devices_per_weight=2),
    "c4b6f2": TileParams(rows=4, cols=4, code_bits=6, f_factor=2),
    "c4b3f3": TileParams(rows=4, cols=4, code_bits=3, f_factor=3),
}


def run(p, scenario, seed):
    scenario.check(run_scenario(RowProgrammer(p), scenario), seed)
    print(scenario.summary())
    return scenario


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_random_commands(name, seed):
    """Random targets (with corners and rounding ties) and random configurations (noise off,
    1x, random and 16x; tol, gain, max_iter from tiny to large), bad targets among them,
    commands offered while busy and back-pressure on the result."""
    p = PARAM_SETS[name]
    run(p, ProgrammerScenario(p, np.random.default_rng(seed), commands=30), seed)


@pytest.mark.parametrize("name", ["c3b4", "c5b5d2"])
def test_noiseless_converges(name, seed):
    """Noise off, gain 192, tol 0..1: every command converges before max_iter, so every phase
    ends with its all-converged check cycle."""
    p = PARAM_SETS[name]
    rng = np.random.default_rng(seed)
    cfgs = [ProgramConfig(seed=int(rng.integers(0, 1 << 32)), tol=int(rng.integers(0, 2)),
                          pulse_gain=192, noise_scale=0, max_iter=30) for _ in range(4)]
    sc = run(p, ProgrammerScenario(p, rng, commands=10, bad=0.0, configs=cfgs), seed)
    for cmd in sc.commands:
        assert cmd.result.converged and (cmd.result.iterations < 30).all(), cmd.describe(p)


@pytest.mark.parametrize("name", ["c4b6f2", "c5b5d2"])
def test_exhaustion_and_failures(name, seed):
    """Heavy noise (16x sigma), tol 0, max_iter 1..3: weights fail; a command with a failed
    weight ran its last phase to max_iter, and a phase that stopped before max_iter stopped at
    its all-converged check (with few columns a phase's weights can all land by chance)."""
    p = PARAM_SETS[name]
    rng = np.random.default_rng(seed)
    cfgs = [ProgramConfig(seed=int(rng.integers(0, 1 << 32)), tol=0, pulse_gain=255,
                          noise_scale=255, max_iter=m) for m in (1, 2, 3)]
    sc = run(p, ProgrammerScenario(p, rng, commands=8, bad=0.0, configs=cfgs), seed)
    assert any(c.result.fail_count > 0 for c in sc.commands)
    last = 1 if p.devices_per_weight == 4 else 0
    for c in sc.commands:
        r, max_iter = c.result, c.cfg.max_iter
        assert (r.iterations <= max_iter).all(), c.describe(p)
        if not r.converged:
            assert r.iterations[last] == max_iter, c.describe(p)
        for phase in range(last + 1):
            if r.iterations[phase] < max_iter:
                assert r.phase_cycles[phase] == r.iterations[phase] + 1, c.describe(p)


def test_bad_targets_change_nothing(seed):
    """Commands with |target| > weight_max (one column, every kind of illegal value) between
    good ones: bad_target rises after the check cycle, codes and status stay, next command
    clears it."""
    p = PARAM_SETS["c4b6f2"]
    rng = np.random.default_rng(seed)
    sc = ProgrammerScenario(p, rng, commands=0)
    tw_lo = -(1 << (p.weight_max.bit_length()))
    plan = []
    for bad_value in (p.weight_max + 1, -p.weight_max - 1, tw_lo, -tw_lo - 1):
        plan.append((1, sc.random_targets(), ProgramConfig(seed=3)))
        t = sc.random_targets()
        t[int(rng.integers(0, p.cols))] = bad_value
        plan.append((2, t, ProgramConfig(seed=4)))
    sc = run(p, ProgrammerScenario(p, rng, commands=plan, back_to_back=0.5), seed)
    assert sum(c.bad for c in sc.commands) == 4


def test_rejects_bad_params():
    with pytest.raises(TypeError, match="params must be a TileParams, not None"):
        RowProgrammer(None)


@pytest.mark.parametrize("name", list(PARAM_SETS))
def test_port_widths(name):
    """The scenario's view of the ports (tb side) matches the component (hdl side)."""
    from golden.spec import ROW_INDEX_BITS
    p = PARAM_SETS[name]
    dut = RowProgrammer(p)
    assert len(dut.cmd.payload.as_value()) == ROW_INDEX_BITS + p.cols * p.target_bits
    assert len(dut.result.payload.as_value()) == (ROW_INDEX_BITS
                                                  + p.cols * p.devices_per_weight * p.code_bits)


def test_reset_mid_run(seed):
    """rst during the MSP phase: the controller is IDLE on the next cycle with its status
    cleared, the devices keep their codes (no reset: PCM is non-volatile; the pulse issued on
    the reset cycle itself lands), and the next command programs its row exactly."""
    from amaranth.hdl import ClockDomain, Module
    from amaranth.sim import Simulator

    from golden.program import program_row
    from tb.pack import pack_words

    p = PARAM_SETS["c3b4"]
    rng = np.random.default_rng(seed)
    dut = RowProgrammer(p)
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut
    t1 = np.array([p.weight_max, -p.weight_max, 7])
    t2 = rng.integers(-p.weight_max, p.weight_max + 1, size=p.cols)
    # a programming seed whose first run lasts long enough to be reset in its MSP phase
    for _ in range(100):
        cfg = ProgramConfig(seed=int(rng.integers(0, 1 << 32)), tol=0, pulse_gain=64,
                            noise_scale=255, max_iter=12)
        first = program_row(t1, 1, cfg, p, trace=True)
        if first.iterations[0] >= 4:
            break
    else:
        raise AssertionError("no programming seed gave a first run of >= 4 MSP iterations")
    second = program_row(t2, 2, cfg, p)
    tw = p.target_bits
    seen = {}

    def cell_codes(ctx):
        return [[ctx.get(getattr(dut.codes[c], f)) for f in p.cell_fields]
                for c in range(p.cols)]

    async def bench(ctx):
        for name, value in (("seed", cfg.seed), ("tol", cfg.tol), ("pulse_gain", cfg.pulse_gain),
                            ("noise_scale", cfg.noise_scale), ("max_iter", cfg.max_iter)):
            ctx.set(getattr(dut, name), value)
        ctx.set(dut.result.ready, 1)
        ctx.set(dut.cmd.payload.as_value(), 1 | pack_words(t1, tw) << 16)
        ctx.set(dut.cmd.valid, 1)
        await ctx.tick()                                # handshake
        ctx.set(dut.cmd.valid, 0)
        await ctx.tick()                                # RESET
        for _ in range(3):                              # MSP iterations 0, 1, 2
            await ctx.tick()
        assert ctx.get(dut.phase.as_value()) == 2 and ctx.get(dut.iteration) == 3
        ctx.set(cd.rst, 1)                              # during MSP iteration 3
        await ctx.tick()
        ctx.set(cd.rst, 0)
        seen["after_reset"] = (ctx.get(dut.phase.as_value()), ctx.get(dut.busy), ctx.get(dut.iteration),
                               ctx.get(dut.cmd.ready), ctx.get(dut.result.valid),
                               ctx.get(dut.iterations), ctx.get(dut.fail_count),
                               ctx.get(dut.bad_target))
        seen["codes"] = cell_codes(ctx)
        ctx.set(dut.cmd.payload.as_value(), 2 | pack_words(t2, tw) << 16)
        ctx.set(dut.cmd.valid, 1)
        await ctx.tick()
        ctx.set(dut.cmd.valid, 0)
        cycles = 1
        while not ctx.get(dut.result.valid):
            await ctx.tick()
            cycles += 1
        seen["cycles"] = cycles
        seen["result"] = ctx.get(dut.result.payload.as_value())
        seen["fail_count"] = ctx.get(dut.fail_count)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen["after_reset"] == (0, 0, 0, 1, 0, 0, 0, 0), seen["after_reset"]
    assert seen["codes"] == first.trace[0][4].tolist(), (seen["codes"], first.trace[0][4])
    assert seen["cycles"] == second.cycles
    got = [[(seen["result"] >> (16 + (c * 4 + d) * p.code_bits)) & p.code_max for d in range(4)]
           for c in range(p.cols)]
    assert (seen["result"] & 0xFFFF) == 2 and got == second.codes.tolist()
    assert seen["fail_count"] == second.fail_count
