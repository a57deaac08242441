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
