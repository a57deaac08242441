"""Whole-array comparison that names the first mismatch."""
import numpy as np

__all__ = ["assert_equal_arrays"]


def assert_equal_arrays(expected, actual, what: str = "output", seed=None):
    """Raise AssertionError naming the first mismatching index and both values."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        raise AssertionError(f"{what}: shape {actual.shape} differs from expected "
                             f"{expected.shape} (seed {seed})")
    diff = np.argwhere(expected != actual)
    if len(diff):
        idx = tuple(int(i) for i in diff[0])
        raise AssertionError(
            f"{what}: {len(diff)} mismatches; first at index {idx}: expected "
            f"{int(expected[idx])}, got {int(actual[idx])} (seed {seed})")
