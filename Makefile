# pcm-tile-kit: every target runs in .venv, made by `make setup` (idempotent).
# Tile size for verilog/lint/demo/bench/waves: override on the command line,
# e.g. `make verilog ROWS=16 COLS=16`.
ROWS      ?= 512
COLS      ?= 512
IN_BITS   ?= 8
OUT_BITS  ?= 8
CODE_BITS ?= 8
DEVICES   ?= 4
F         ?= 1
EVAL_ROWS ?= 4

# Interpreter that creates the venv (needs venv and a shared libpython: cocotb embeds it).
PYTHON3   ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.stamp
BUILD     := build
# pytest-xdist workers; each cocotb build has its own directory and a lock, so they don't collide
JOBS      ?= 2
PYTEST_ARGS ?=

SIZE_ARGS := --rows $(ROWS) --cols $(COLS) --in-bits $(IN_BITS) --out-bits $(OUT_BITS) \
             --code-bits $(CODE_BITS) --devices $(DEVICES) --f-factor $(F) \
             --eval-rows $(EVAL_ROWS)
# FAULT_INJECTION=1: the tile with the fault-injection hardware (docs/faults.md; not the chip's)
FAULT_INJECTION ?= 0
TILE_ARGS := $(SIZE_ARGS) $(if $(filter 1,$(FAULT_INJECTION)),--fault-injection)
# chip geometry for verilog-chip/lint-chip (docs/chip.md section 1; the tile size is the one above)
GRID        ?= 6x6
EMPTY       ?= 5,4;5,5
GROUP_LANES ?= 256
PAIR_ROWS   ?= 0,1,2,3,4,5
PROG_BUS_BITS ?= 512
CHIP_ARGS := $(SIZE_ARGS) --grid $(GRID) --empty "$(EMPTY)" --group-lanes $(GROUP_LANES) \
             --pair-rows $(PAIR_ROWS) --prog-bus-bits $(PROG_BUS_BITS)

# `make waves` traces a small tile unless told otherwise (a 512 x 512 FST runs to gigabytes)
WAVES_ROWS ?= 16
WAVES_COLS ?= 16
WAVES_SIZE_ARGS := --rows $(WAVES_ROWS) --cols $(WAVES_COLS) --in-bits $(IN_BITS) \
             --out-bits $(OUT_BITS) --code-bits $(CODE_BITS) --devices $(DEVICES) --f-factor $(F)

# Verilator lint waivers, each needed by amaranth's (Yosys') output, not by a design error:
#   WIDTH           Yosys writes operands of mixed widths (e.g. `x + 1'h1`, zero-extended
#                   compares).
#   CASEINCOMPLETE  a `casez` without a default: a `Switch`/FSM on a state register with unused
#                   encodings (the calibrator's and the row programmer's state), and an Amaranth
#                   `Array` indexed by a signal wider than the array (the calibrator's column
#                   index); states only take their enumerated values and the column is counted
#                   to `cols`.
LINT_WAIVERS := -Wno-WIDTH -Wno-CASEINCOMPLETE

.PHONY: setup verilog verilog-chip lint lint-tile lint-chip test demo demo-tile bench synth waves \
        drift program chip-run test-full regress digits energy clean distclean peer-aihwkit \
        mutate faults

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_system.sh
	@set -e; start=$$(date +%s); \
	scripts/setup_system.sh $(PYTHON3); \
	if [ -x $(PY) ]; then echo "setup: reusing $(VENV)"; \
	else echo "setup: creating $(VENV) with $$(command -v $(PYTHON3)) ($$($(PYTHON3) --version))"; \
	     $(PYTHON3) -m venv $(VENV); fi; \
	echo "setup: pip install -e . (pinned dependencies of pyproject.toml)"; \
	$(PY) -m pip install --quiet --disable-pip-version-check -e . ; \
	touch $(STAMP); \
	echo "setup: done in $$(( $$(date +%s) - start )) s"

verilog: setup
	AMARANTH_USE_YOSYS=builtin $(PY) -m hdl.verilog $(TILE_ARGS) --out $(BUILD)

# the chip: build/chip/tile.v (the clock-gated tile, emitted once) and build/chip/chip.v
verilog-chip: setup
	AMARANTH_USE_YOSYS=builtin $(PY) -m hdl.chip.emit $(CHIP_ARGS) --out $(BUILD)/chip

lint: lint-tile lint-chip

lint-tile: verilog
	verilator --lint-only $(LINT_WAIVERS) --top-module tile $(BUILD)/tile.v

# the tile position once (tile.v, tile_hier.v), then the chip's instances of it against its
# ports alone (tile_hier_ports.v): elaborating all 34 tiles in one run takes Verilator 12 GB
lint-chip: verilog-chip
	verilator --lint-only $(LINT_WAIVERS) --top-module tile_hier $(BUILD)/chip/tile.v $(BUILD)/chip/tile_hier.v
	verilator --lint-only $(LINT_WAIVERS) --top-module chip $(BUILD)/chip/tile_hier_ports.v $(BUILD)/chip/chip.v

# longest tests first, one per worker (tests/conftest.py), handed out one at a time
test: setup
	$(PY) -m pytest -n $(JOBS) --maxschedchunk=1 $(PYTEST_ARGS)

# random MVMs in volume (default 100,000) over the small parameter sets on Verilator and Icarus,
# in parallel on JOBS workers, every run's seed printed (scripts/regress.py; build/regress.json)
MVMS ?= 100000
regress: setup
	$(PY) scripts/regress.py --mvms $(MVMS) --jobs $(JOBS)

# mutation score of the tile's digital blocks (scripts/mutate.py; not part of `make test`, about
# 30 minutes on 2 cores): operator, constant and condition mutants of each block's elaborate(),
# each run against the block's fast amaranth.sim tests; per-block table and every surviving
# mutant in build/mutate/{report.md,report.json}
MUTANTS      ?= 40
MUTATE_SEED  ?= 1
MUTATE_ARGS  ?=
mutate: setup
	$(PY) scripts/mutate.py --per-block $(MUTANTS) --seed $(MUTATE_SEED) --jobs $(JOBS) \
	    $(MUTATE_ARGS)

# the full-size tests alone, with two 512 x 512 tiles chained on a chip (tests marked chipfull,
# skipped by `make test`: they would take it past 20 minutes on 2 cores)
test-full: setup
	FULL_CHIP=1 $(PY) -m pytest -n $(JOBS) --maxschedchunk=1 -m fullsize $(PYTEST_ARGS)

# keyword spotting end to end (mapper/kws_flow.py; docs/mapping.md section 6): the data set
# synthesized with espeak-ng and the trained network (both cached under build/), mapped onto the
# paper's chip, accuracy on the golden chip over device seeds and drift times, DEMO_RTL_INPUTS
# test clips through the RTL chip (3 x 2 tiles of 512 x 512, Verilator) against the golden chip,
# energy and latency per frame: build/kws/run/{summary.json,*.png}
DEMO_SEEDS      ?= 3
DEMO_RTL_INPUTS ?= 4
demo: setup
	$(PY) -m mapper.kws_flow --seeds $(DEMO_SEEDS) --rtl-inputs $(DEMO_RTL_INPUTS) \
	    --simulator $(SIMULATOR)

# random MVMs through the tile RTL (default 512 x 512) in Verilator, checked against golden
demo-tile: setup
	$(PY) -m tb.demo $(TILE_ARGS)

bench: setup
	$(PY) scripts/bench.py

# a routed pass through the chip (default: 34 tiles of 512 x 512) in Verilator under cocotb, every
# word and cycle against the golden chip; emission, build time, peak memory and cycles/s
# (build/chip_run.json). Not part of `make test`: the first run emits and builds for minutes.
CHAIN ?=
BEATS ?= 2
chip-run: setup
	$(PY) scripts/chip_run.py $(CHIP_ARGS) $(if $(CHAIN),--chain $(CHAIN)) --beats $(BEATS)

# generic Yosys cells per block of the periphery (crossbar left out) at SYNTH_ROWS x SYNTH_COLS,
# and of the chip's own logic at the default geometry (tiles left out): build/synth/cells.json
SYNTH_ROWS ?= 16
SYNTH_COLS ?= 16
synth: setup
	$(PY) scripts/synth.py --rows $(SYNTH_ROWS) --cols $(SYNTH_COLS)

waves: setup
	$(PY) -m tb.waves $(WAVES_SIZE_ARGS)

# closed-loop programming of a 512 x 512 tile (golden.program, bit-exact with the RTL programmer):
# mean weight error, analog yield, iterations and cycles at the default PROG_* registers
program: setup
	$(PY) -m golden.program --rows $(ROWS) --cols $(COLS) --seed 1

# drift of a programmed 512 x 512 tile at 1 hour / 1 day / 1 year, with and without compensation:
# build/drift/{table.md,drift.json,drift.png}
drift: setup
	$(PY) scripts/drift_study.py

# MVM error of a 256 x 256 tile against the fraction of stuck PCM devices (0.1 / 1 / 5 %, stuck
# at zero, at full or both), open-loop, closed-loop and closed-loop with per-column gains, with
# the programmer's fail-mask counts: build/faults/{table.md,faults.json,faults.png}
faults: setup
	$(PY) scripts/fault_study.py

# golden/device.py side by side with IBM aihwkit's own PCM noise model (scripts/peer_aihwkit.py):
# programming noise, drift exponents, drifted conductances and read noise at 15 targets
# (100,000 devices each) and the tile-level drift compensation factor, with z-scores and KS
# tests. Optional, in its own environment (not in `make setup` or `make test`): torch from PyPI
# (with its CUDA libraries, about 4 GB to download; a CPU run needs no GPU) and aihwkit's
# pure-Python noise model from its pinned source distribution (no C++ build). The sdist is
# fetched by the script and checked against its pinned sha256: `pip download --no-binary` would
# first install aihwkit's build requirements to prepare its metadata.
PEER_DIR   := $(BUILD)/peer-aihwkit
PEER_VENV  := $(PEER_DIR)/venv
PEER_PY    := $(PEER_VENV)/bin/python
PEER_PINS  := torch==2.9.1 numpy==2.4.6 scipy==1.17.1
PEER_ARGS  ?=
peer-aihwkit:
	@set -e; start=$$(date +%s); \
	if [ -f $(PEER_VENV)/.stamp ] && [ "$$(cat $(PEER_VENV)/.stamp)" = "$(PEER_PINS)" ]; then \
	    echo "peer-aihwkit: reusing $(PEER_VENV) ($(PEER_PINS))"; \
	else rm -rf $(PEER_VENV); \
	    echo "peer-aihwkit: creating $(PEER_VENV) with $$(command -v $(PYTHON3)) ($$($(PYTHON3) --version))"; \
	    $(PYTHON3) -m venv $(PEER_VENV); \
	    echo "peer-aihwkit: pip install $(PEER_PINS) (about 4 GB with torch's CUDA wheels)"; \
	    $(PEER_PY) -m pip install --no-cache-dir --disable-pip-version-check --progress-bar on \
	        $(PEER_PINS); \
	    echo "$(PEER_PINS)" > $(PEER_VENV)/.stamp; \
	    echo "peer-aihwkit: environment ready in $$(( $$(date +%s) - start )) s"; fi; \
	$(PEER_PY) scripts/peer_aihwkit.py --work-dir $(PEER_DIR) $(PEER_ARGS)

# handwritten digits end to end: training (cached), mapping onto the paper's chip, accuracy on
# the golden chip over device seeds and drift times, a subset through the RTL chip, energy:
# build/digits/{summary.json,accuracy_vs_drift.png,energy.png}
SEEDS      ?= 5
RTL_INPUTS ?= 20
RTL_SIZE   ?= 64
SIMULATOR  ?= verilator
digits: setup
	$(PY) -m mapper.digits --seeds $(SEEDS) --rtl-inputs $(RTL_INPUTS) --rtl-size $(RTL_SIZE) \
	    --simulator $(SIMULATOR)

# the energy model's calibration (20.0 and 12.4 TOPS/W) and its prediction at half the
# integration time (docs/energy.md)
energy: setup
	$(PY) -m golden.energy

clean:
	rm -rf $(BUILD) sim_build .pytest_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name sim_build \) -type d \
	    -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type f \( -name 'results*.xml' -o -name '*.vcd' \
	    -o -name '*.fst' \) -exec rm -f {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
