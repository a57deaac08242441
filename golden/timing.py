"""Cycle counts of one MVM (docs/spec.md section 7); one clock cycle is one tick."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .spec import (InputMode, Phase, TileConfig, TileParams, check_config, check_enum,
                   check_params)

__all__ = ["Timing", "mvm_timing"]


@dataclass(frozen=True)
class Timing:
    """Per-phase cycles of one MVM and the totals derived from them.

    Members
    -------
    cycles: read-only mapping ``Phase -> cycles`` (``IDLE`` is the 1-cycle input handshake,
        ``OUTPUT`` the 1 cycle the ``y`` word is held without back-pressure).
    latency: cycles from the input handshake's cycle to the first cycle with ``y.valid`` high
        (every phase but ``OUTPUT``).
    period: cycles one MVM occupies with no back-pressure (``latency + 1``).
    physical_ticks: time the physical array needs (``INTEGRATE + CONVERT + EMIT``); ``EVALUATE``
        is a cost of the behavioral model only.
    """
    cycles: Mapping[Phase, int]
    latency: int
    period: int
    physical_ticks: int

    def __hash__(self):
        return hash((tuple(self.cycles.items()), self.latency, self.period, self.physical_ticks))


def mvm_timing(params: TileParams, config: TileConfig, *,
               integrate_ticks: int | None = None) -> Timing:
    """Timing of one MVM with ``config`` (only its input mode matters).

    ``integrate_ticks`` overrides the ``INTEGRATE`` length: with ``input_source = LANES`` it
    lasts as long as the external window, which the caller knows; by default it is the ILP's
    window, D + 1.
    """
    check_params(params)
    mode = check_enum("input_mode", check_config(config).input_mode, InputMode)
    if integrate_ticks is None:
        integrate_ticks = params.input_duration_max(mode) + 1
    elif isinstance(integrate_ticks, bool) or not isinstance(integrate_ticks, (int, np.integer)):
        raise TypeError(f"integrate_ticks must be an integer, not {integrate_ticks!r}")
    elif integrate_ticks < 1:
        raise ValueError(f"integrate_ticks must be at least 1, not {integrate_ticks}")
    cycles = {
        Phase.IDLE: 1,
        Phase.INTEGRATE: int(integrate_ticks),
        Phase.EVALUATE: params.evaluate_cycles,
        Phase.CONVERT: 1,
        Phase.EMIT: params.out_max + 1,
        Phase.OUTPUT: 1,
    }
    latency = sum(n for phase, n in cycles.items() if phase != Phase.OUTPUT)
    return Timing(
        cycles=MappingProxyType(cycles),
        latency=latency,
        period=latency + cycles[Phase.OUTPUT],
        physical_ticks=cycles[Phase.INTEGRATE] + cycles[Phase.CONVERT] + cycles[Phase.EMIT],
    )
