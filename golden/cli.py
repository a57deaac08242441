"""argparse types shared by the kit's command lines.

Each refuses a bad value while the command line is parsed, before any long work (elaboration,
a Verilator build, a study) starts: argparse then exits with status 2 and a message naming the
option, the value and what is legal, e.g. ``argument --seed: must be an integer in
[0, 4294967295], not -1``.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

__all__ = ["SEED_MAX", "int_in_range", "seed", "writable_dir", "writable_file"]

#: Largest seed a command line takes (the tile's seed registers are 32 bits wide).
SEED_MAX = (1 << 32) - 1


def int_in_range(lo: int, hi: int | None = None):
    """An argparse type: a decimal integer in ``[lo, hi]`` (``hi`` None: no upper bound)."""
    legal = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be an integer {legal}, not {text!r}") \
                from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be an integer {legal}, not {value}")
        return value

    parse.__name__ = f"integer {legal}"
    return parse


#: argparse type of a ``--seed``: an integer in [0, 2^32 - 1].
seed = int_in_range(0, SEED_MAX)


def _probe(directory: Path, what: str) -> None:
    """Create ``directory`` (and its parents) and a scratch file in it, or raise
    ArgumentTypeError saying why ``what`` cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise argparse.ArgumentTypeError(f"cannot write to {what}: {reason}") from None


def writable_dir(text: str) -> Path:
    """An argparse type: a directory that exists or can be created, and can be written."""
    path = Path(text)
    _probe(path, f"directory {text!r}")
    return path


def writable_file(text: str) -> Path:
    """An argparse type: a file path whose directory can be written (created if needed) and
    that is not itself a directory."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    _probe(path.parent, f"{text!r} (directory {str(path.parent)!r})")
    return path
