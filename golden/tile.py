"""The composed tile: ILP -> crossbar -> capacitor -> ramp/gain/offset/EN (docs/spec.md).

:meth:`Tile.run` walks the blocks one by one and returns every intermediate; :meth:`Tile.mvm`
returns only ``y`` and is fast. Both are bit-exact and equal.

How ``mvm`` stays fast and exact:

- the charge ``x @ W`` is an integer whose partial sums never exceed
  ``params.accumulator_max`` (``|x| <= duration_max``, ``|w| <= weight_max``); below 2**53 a
  float64 BLAS product against a cached float64 copy of the weights is exact in any summation
  order (``crossbar.float_path_exact``); otherwise an int64 product is used;
- the conversion ``y = clip(floor(Qs * gain / 2**s + 1/2) + offset, lo, hi) - lo`` is done in
  float64 as ``clip(Qs * (gain * 2**-s) + (1/2 + offset - lo), 0, hi - lo)`` then truncated,
  when every intermediate is a multiple of 2**-s with a numerator below 2**53
  (``ramp.Conversion.float_exact``); otherwise in int64 with ``fixed.round_shift``;
- per-configuration constants are cached, keyed by a snapshot of the configuration's values
  (so mutating a ``TileConfig`` or its arrays between calls is always seen), and large batches
  are processed in chunks through per-thread scratch buffers.

A ``Tile`` may be used from several threads for ``mvm``/``run``; programming it while another
thread runs an MVM is not supported.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import crossbar, ilp
from .crossbar import _weights_of, check_codes
from .noise import MVM_INDEX_MAX, read_noise
from .ramp import Conversion
from .spec import InputMode, TileConfig, TileParams, check_int
from .timing import Timing, mvm_timing

__all__ = ["MvmResult", "Tile"]

#: Scratch budget: a batch is processed in chunks of about this many float64 elements.
_CHUNK_ELEMENTS = 1 << 20
_CONFIG_CACHE_SIZE = 32


@dataclass(frozen=True, eq=False)
class MvmResult:
    """Every intermediate of one (batched) MVM; per-vector arrays follow ``x``'s leading shape.

    Members
    -------
    durations, signs: ILP output, ``int64`` ``(..., rows)``; signs are +1/-1.
    charge, charge_sat: raw and capacitor-clamped column charge, ``int64`` ``(..., cols)``.
    z: pre-activation value (after gain, rounding, offset), ``int64`` ``(..., cols)``.
    y: output words, ``int64`` ``(..., cols)``.
    cap_sat, out_sat: ``bool`` per vector (``CAP_SAT``, ``OUT_SAT`` events).
    timing: cycle counts of one MVM.
    """
    durations: np.ndarray
    signs: np.ndarray
    charge: np.ndarray
    charge_sat: np.ndarray
    z: np.ndarray
    y: np.ndarray
    cap_sat: np.ndarray
    out_sat: np.ndarray
    timing: Timing


class _Derived:
    """Constants of one configuration: the resolved config and what the fast path needs."""
    __slots__ = ("cfg", "conv", "mode", "in_lo", "in_hi", "timing")

    def __init__(self, config: TileConfig, params: TileParams):
        self.cfg = config.resolved(params)
        self.conv = Conversion.of(self.cfg, params)
        self.mode = InputMode(self.cfg.input_mode)
        self.in_lo, self.in_hi = params.input_range(self.mode)
        self.timing = mvm_timing(params, self.cfg)


def _array_key(arr):
    if arr is None:
        return None
    a = arr if type(arr) is np.ndarray else np.asarray(arr)
    return (a.dtype, a.shape, a.tobytes())


def _config_key(config: TileConfig):
    # Types are part of the key so that e.g. ramp_shift=1.0 never hits the entry of 1 (and so
    # skips the validation that rejects it).
    c = config
    return (type(c.input_mode), type(c.input_source), type(c.activation), type(c.ramp_shift),
            type(c.en_lo), type(c.en_hi),
            type(c.noise_seed), type(c.noise_sigma),
            c.input_mode, c.input_source, c.activation, c.ramp_shift, c.en_lo, c.en_hi,
            _array_key(c.gain), _array_key(c.offset), c.noise_seed, c.noise_sigma)


class Tile:
    """One tile: conductance codes (non-volatile) and the MVM datapath.

    ``codes`` (optional) has shape ``(rows, cols, devices_per_weight)`` in
    ``params.cell_fields`` order; the default is all zero.
    """

    def __init__(self, params: TileParams, codes=None):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self._params = params
        shape = (params.rows, params.cols)
        self._codes = np.zeros(shape + (params.devices_per_weight,), dtype=np.int64)
        self._weights = np.zeros(shape, dtype=np.int64)
        # float64 copy of the weights, stored transposed (cols, rows) so that the single-vector
        # product is a row-major matrix-vector product (the fastest BLAS gemv form)
        self._weights_f64_t = np.zeros(shape[::-1], dtype=np.float64)
        self._float_charge = crossbar.float_path_exact(params)
        self._chunk = max(1, _CHUNK_ELEMENTS // max(params.rows, params.cols))
        self._configs: dict = {}
        self._last_config = (None, None)     # (key, derived) of the previous call
        self._scratch = threading.local()
        if codes is not None:
            self.program(codes)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_scratch"], state["_configs"], state["_last_config"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._configs = {}
        self._last_config = (None, None)
        self._scratch = threading.local()

    # -- programming ----------------------------------------------------------------------------
    @property
    def params(self) -> TileParams:
        return self._params

    @property
    def codes(self) -> np.ndarray:
        """A copy of the conductance codes ``(rows, cols, devices_per_weight)``, ``int64``."""
        return self._codes.copy()

    @property
    def weights(self) -> np.ndarray:
        """A copy of the integer unit-cell weights ``(rows, cols)``, ``int64``."""
        return self._weights.copy()

    def program_row(self, row: int, codes_row) -> None:
        """Write the codes ``(cols, devices_per_weight)`` of one row."""
        p = self._params
        row = check_int("row", row, 0, p.rows - 1)
        c = check_codes(codes_row, (p.cols, p.devices_per_weight), p, name="codes_row")
        w = _weights_of(c, p)
        self._codes[row] = c
        self._weights[row] = w
        self._weights_f64_t[:, row] = w

    def program_targets(self, row: int, targets, config=None):
        """Closed-loop programming of one row to integer target weights (``golden.program``:
        what the tile's ``target`` stream does); writes the resulting codes and returns the
        ``golden.program.RowResult``. ``config`` is a ``ProgramConfig`` (default: the PROG_*
        registers' reset values)."""
        from .program import ProgramConfig, program_row
        result = program_row(targets, row, ProgramConfig() if config is None else config,
                             self._params)
        self.program_row(row, result.codes)
        return result

    def program(self, codes) -> None:
        """Write the whole array of codes ``(rows, cols, devices_per_weight)``."""
        p = self._params
        c = check_codes(codes, (p.rows, p.cols, p.devices_per_weight), p)
        w = _weights_of(c, p)
        self._codes[...] = c
        self._weights[...] = w
        self._weights_f64_t[...] = w.T

    # -- MVM -------------------------------------------------------------------------------------
    def _derived(self, config: TileConfig) -> _Derived:
        if not isinstance(config, TileConfig):
            raise TypeError(f"config must be a TileConfig, not {config!r}")
        key = _config_key(config)
        last_key, derived = self._last_config
        if key == last_key:         # the common case: no hashing of the gain/offset bytes
            return derived
        try:
            derived = self._configs.get(key)
        except TypeError:           # an unhashable field: resolving reports it clearly
            return _Derived(config, self._params)
        if derived is None:
            derived = _Derived(config, self._params)
            if len(self._configs) >= _CONFIG_CACHE_SIZE:
                self._configs.clear()
            self._configs[key] = derived
        self._last_config = (key, derived)
        return derived

    def _noise(self, cfg: TileConfig, mvm_index, batch_shape: tuple) -> np.ndarray | None:
        """Read noise of MVMs ``mvm_index, mvm_index + 1, ...`` (None when NOISE_SIGMA = 0)."""
        mvm_index = check_int("mvm_index", mvm_index, 0, MVM_INDEX_MAX)
        if batch_shape and batch_shape[0] > 1:
            check_int(f"mvm_index + {batch_shape[0] - 1} (the last vector of the batch)",
                      mvm_index + batch_shape[0] - 1, 0, MVM_INDEX_MAX)
        if not cfg.noise_sigma:
            return None
        index = (np.int64(mvm_index) + np.arange(batch_shape[0], dtype=np.int64) if batch_shape
                 else np.int64(mvm_index))
        return read_noise(cfg.noise_seed, cfg.noise_sigma, index, self._params.cols)

    def run(self, x, config: TileConfig, mvm_index: int = 0) -> MvmResult:
        """One MVM (or a batch: ``x`` of shape ``(batch, rows)``) with every intermediate.

        ``x`` holds input words in ``config.input_mode``. The numerics do not depend on
        ``input_source`` (external lanes carry the same durations and signs). ``mvm_index`` is
        the tile's MVM_COUNT at the (first) vector, the counter that keys the read noise
        (vector ``i`` of a batch has ``mvm_index + i``); it matters only with NOISE_SIGMA > 0.
        """
        p = self._params
        dv = self._derived(config)
        durations, signs = ilp.encode(x, dv.mode, p)
        noise = self._noise(dv.cfg, mvm_index, durations.shape[:-1])
        charge, charge_sat, cap_sat = crossbar.integrate(
            durations, signs, self._weights, p,
            weights_f64=self._weights_f64_t.T if self._float_charge else None, noise=noise)
        z = dv.conv.z(charge_sat)
        y = dv.conv.y(z)
        out_sat = np.any(z > dv.conv.hi, axis=-1)
        return MvmResult(durations=durations, signs=signs, charge=charge, charge_sat=charge_sat,
                         z=z, y=y, cap_sat=cap_sat, out_sat=out_sat, timing=dv.timing)

    def mvm(self, x, config: TileConfig, mvm_index: int = 0) -> np.ndarray:
        """Output words ``y`` (``int64``, ``(cols,)`` or ``(batch, cols)``) of input words ``x``
        (``mvm_index``: see :meth:`run`)."""
        p = self._params
        dv = self._derived(config)
        x = np.asarray(x)
        if x.dtype.kind not in "iu":
            raise TypeError(f"x must be an integer array, not dtype {x.dtype}")
        if x.ndim not in (1, 2) or x.shape[-1] != p.rows:
            raise ValueError(f"x must have shape ({p.rows},) or (batch, {p.rows}), "
                             f"not {x.shape}")
        if x.size and (x.min() < dv.in_lo or x.max() > dv.in_hi):
            ilp.check_words(x, dv.mode, p, name="x")     # raises, naming the first bad word
        conv = dv.conv
        noise = self._noise(dv.cfg, mvm_index, x.shape[:-1])
        if not self._float_charge:
            q = x.astype(np.int64) @ self._weights
            return self._convert_int(q if noise is None else q + noise, conv)
        if x.ndim == 1:
            q = self._weights_f64_t @ x.astype(np.float64)
            if noise is not None:
                q += noise          # exact: integers far below 2**53
            if not conv.float_exact:
                return self._convert_int(q.astype(np.int64), conv)
            cmax = p.charge_max
            np.maximum(q, -cmax, out=q)
            np.minimum(q, cmax, out=q)
            q *= conv.gain_scaled
            q += conv.bias
            np.maximum(q, 0, out=q)
            np.minimum(q, conv.hi - conv.lo, out=q)
            return q.astype(np.int64)
        return self._mvm_batch(x, conv, noise)

    def _mvm_batch(self, x: np.ndarray, conv: Conversion, noise=None) -> np.ndarray:
        p = self._params
        n = x.shape[0]
        out = np.empty((n, p.cols), dtype=np.int64)
        if n == 0:
            return out
        chunk = min(n, self._chunk)
        xbuf, qbuf = self._buffers(chunk)
        cmax = p.charge_max
        span = conv.hi - conv.lo
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            m = stop - start
            xf = xbuf[:m * p.rows].reshape(m, p.rows)
            qf = qbuf[:m * p.cols].reshape(m, p.cols)
            np.copyto(xf, x[start:stop], casting="unsafe")   # exact: |x| < 2**17
            np.matmul(xf, self._weights_f64_t.T, out=qf)
            if noise is not None:
                qf += noise[start:stop]
            if conv.float_exact:
                np.clip(qf, -cmax, cmax, out=qf)
                qf *= conv.gain_scaled
                qf += conv.bias
                np.clip(qf, 0, span, out=qf)
                np.copyto(out[start:stop], qf, casting="unsafe")  # truncation == floor (>= 0)
            else:
                out[start:stop] = self._convert_int(qf.astype(np.int64), conv)
        return out

    def _buffers(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-thread float64 scratch for ``m`` vectors (grown, never shrunk)."""
        p = self._params
        s = self._scratch
        xbuf = getattr(s, "x", None)
        if xbuf is None or xbuf.size < m * p.rows:
            s.x = xbuf = np.empty(m * p.rows, dtype=np.float64)
            s.q = np.empty(m * p.cols, dtype=np.float64)
        return xbuf, s.q

    def _convert_int(self, charge: np.ndarray, conv: Conversion) -> np.ndarray:
        cmax = self._params.charge_max
        return conv.y(conv.z(np.clip(charge, -cmax, cmax)))
