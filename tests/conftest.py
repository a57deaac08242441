import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture
def seed(request):
    """A random seed, printed; force one with SEED=<n> to reproduce a failure."""
    value = int(os.environ.get("SEED", np.random.SeedSequence().entropy % (1 << 32)))
    print(f"seed for {request.node.name}: {value}")
    return value


#: Scheduling classes, longest first: the 512 x 512 builds, the chip under cocotb, the other
#: cocotb builds, the slow amaranth.sim tests, the rest.
_COST_CLASSES = ("fullsize", "chip_rtl", "rtl", "slow")


def _cost_class(item) -> int:
    names = {mark.name for mark in item.iter_markers()}
    return next((k for k, name in enumerate(_COST_CLASSES) if name in names),
                len(_COST_CLASSES))


def pytest_collection_modifyitems(config, items):
    """Run the longest tests first, one on each xdist worker from the start.

    ``make test`` runs pytest-xdist with ``--maxschedchunk=1``: worker k is first given the
    tests at positions 2k and 2k + 1, then one test whenever it is down to one. So the k-th
    longest test goes to position 2k with one of the shortest behind it, and the rest follow
    longest first; the 512 x 512 tests then overlap everything else instead of starting last.
    Every worker computes the same order (xdist requires identical collections).

    Tests marked ``chipfull`` (two 512 x 512 tiles on a chip: about 6 minutes of two cores
    alone, 11 in the suite, which it would take past 20 minutes) or ``fullonly`` (a second
    512-column build whose checks the 512 x 512 tile test already makes) are skipped unless
    ``FULL_CHIP=1`` (``make test-full``)."""
    if os.environ.get("FULL_CHIP", "0") in ("", "0"):
        for item in items:
            if item.get_closest_marker("chipfull"):
                item.add_marker(pytest.mark.skip(
                    reason="two 512 x 512 tiles on a chip: run with make test-full (FULL_CHIP=1)"))
            elif item.get_closest_marker("fullonly"):
                item.add_marker(pytest.mark.skip(
                    reason="a second 512-column build: run with make test-full (FULL_CHIP=1)"))
    items.sort(key=_cost_class)     # stable: file order within a class
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers < 2 or len(items) < 4 * workers:
        return
    heads, fillers = items[:workers], items[::-1][:workers]
    middle = items[workers:len(items) - workers]
    items[:] = [item for pair in zip(heads, fillers) for item in pair] + middle
