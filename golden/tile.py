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
  (``ramp.Conversion.float_exact``); otherwise in int64 with ``fixed.round_shift``; when the
  float form is exact for every raw charge too (``ramp.Conversion.raw_float_exact``), one clip
  with per-column bounds does both the capacitor clamp and the EN window;
- the read noise is drawn by ``noise.noise_rows`` for a block of MVMs at once (in place, in
  32-bit integers) and added to the float64 charge (exact: integers far below 2**53), or, for a
  single vector on the one-clip path, added as ``noise * gain_scaled + bias`` to the scaled
  charge (exact for the same reason as the conversion); a batch draws it block by block;
  single-vector MVMs whose MVM index follows the previous one's (same seed and sigma, same
  thread) draw the next ``_NOISE_AHEAD`` MVMs' noise at once and keep it;
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
from .noise import MVM_INDEX_MAX, noise_rows, read_noise, sequential_keys
from .ramp import Conversion
from .spec import InputMode, TileConfig, TileParams, check_int
from .timing import Timing, mvm_timing

__all__ = ["MvmResult", "Tile"]

#: Scratch budget: a batch is processed in chunks of about this many float64 elements.
_CHUNK_ELEMENTS = 1 << 20
#: Word checks, read noise and conversion run on blocks of about this many outputs.
_BLOCK_ELEMENTS = 1 << 17
#: Sequential single-vector MVMs draw the read noise of this many MVMs at once.
_NOISE_AHEAD = 64
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
    __slots__ = ("cfg", "conv", "mode", "in_lo", "in_hi", "timing", "dead")

    def __init__(self, config: TileConfig, params: TileParams):
        self.cfg = config.resolved(params)
        self.conv = Conversion.of(self.cfg, params)
        self.mode = InputMode(self.cfg.input_mode)
        self.in_lo, self.in_hi = params.input_range(self.mode)
        self.timing = mvm_timing(params, self.cfg)
        # dead lanes or columns in the configuration (FAULT_LANES, FAULT_COLS): exact path
        self.dead = self.cfg.dead_lanes is not None or self.cfg.dead_cols is not None


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
            _array_key(c.gain), _array_key(c.offset), c.noise_seed, c.noise_sigma,
            _array_key(c.dead_lanes), _array_key(c.dead_cols))


class Tile:
    """One tile: conductance codes (non-volatile) and the MVM datapath.

    ``codes`` (optional) has shape ``(rows, cols, devices_per_weight)`` in
    ``params.cell_fields`` order; the default is all zero. ``faults`` (optional, a
    ``golden.faults.FaultMap``) is injected before the codes are written (:meth:`inject`).
    """

    def __init__(self, params: TileParams, codes=None, faults=None):
        if not isinstance(params, TileParams):
            raise TypeError(f"params must be a TileParams, not {params!r}")
        self._params = params
        shape = (params.rows, params.cols)
        self._codes = np.zeros(shape + (params.devices_per_weight,), dtype=np.int64)
        self._weights = np.zeros(shape, dtype=np.int64)
        # the weights the MVM sees: ``_weights`` with the rows of dead lanes and the columns of
        # dead columns of the injected fault map zeroed (the same array when there are none)
        self._mvm_weights = self._weights
        self._faults = None
        self._alive = None          # (lanes alive (rows,), columns alive (cols,)) or None
        # float64 copy of the weights, stored transposed (cols, rows) so that the single-vector
        # product is a row-major matrix-vector product (the fastest BLAS gemv form)
        self._weights_f64_t = np.zeros(shape[::-1], dtype=np.float64)
        self._float_charge = crossbar.float_path_exact(params)
        self._chunk = max(1, _CHUNK_ELEMENTS // max(params.rows, params.cols))
        self._block = max(1, _BLOCK_ELEMENTS // params.cols)
        self._configs: dict = {}
        self._last_config = (None, None)     # (key, derived) of the previous call
        self._scratch = threading.local()
        if faults is not None:
            self.inject(faults)
        if codes is not None:
            self.program(codes)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_scratch"], state["_configs"], state["_last_config"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_block", max(1, _BLOCK_ELEMENTS // self._params.cols))
        self.__dict__.setdefault("_faults", None)
        self.__dict__.setdefault("_alive", None)
        self.__dict__.setdefault("_mvm_weights", self._weights)
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

    @property
    def faults(self):
        """The injected ``golden.faults.FaultMap``, or None."""
        return self._faults

    def inject(self, faults) -> None:
        """Inject a ``golden.faults.FaultMap`` (None: remove every fault), replacing the
        previous one. Stuck devices take their stuck code when their row is next written (as
        in the RTL, which merges the fault memory into the row-write path: inject, then
        program); dead lanes and dead columns act on every later MVM at once
        (docs/faults.md)."""
        from .faults import FaultMap
        if faults is not None:
            if not isinstance(faults, FaultMap):
                raise TypeError(f"faults must be a FaultMap or None, not {faults!r}")
            if faults.params != self._params:
                raise ValueError(f"faults were made for {faults.params}, the tile has "
                                 f"{self._params}")
            if not faults.any:
                faults = None
        self._faults = faults
        periph = faults is not None and bool(faults.dead_lanes.any() or faults.dead_cols.any())
        self._alive = (~faults.dead_lanes, ~faults.dead_cols) if periph else None
        self._refresh_mvm_weights()

    def _refresh_mvm_weights(self, row: int | None = None) -> None:
        """Recompute the MVM's weights (all rows, or one) from ``_weights`` and the dead lanes
        and columns of the fault map."""
        if self._alive is None:
            self._mvm_weights = self._weights
            if row is None:
                self._weights_f64_t[...] = self._weights.T
            else:
                self._weights_f64_t[:, row] = self._weights[row]
            return
        lanes, cols = self._alive
        if self._mvm_weights is self._weights:
            self._mvm_weights = np.zeros_like(self._weights)
            row = None
        if row is None:
            self._mvm_weights[...] = self._weights * lanes[:, None] * cols[None, :]
            self._weights_f64_t[...] = self._mvm_weights.T
        else:
            self._mvm_weights[row] = self._weights[row] * (lanes[row] * cols)
            self._weights_f64_t[:, row] = self._mvm_weights[row]

    def program_row(self, row: int, codes_row) -> None:
        """Write the codes ``(cols, devices_per_weight)`` of one row (stuck devices of the
        injected faults keep their stuck codes)."""
        p = self._params
        row = check_int("row", row, 0, p.rows - 1)
        c = check_codes(codes_row, (p.cols, p.devices_per_weight), p, name="codes_row")
        if self._faults is not None:
            c = self._faults.apply(c, row)
        w = _weights_of(c, p)
        self._codes[row] = c
        self._weights[row] = w
        self._refresh_mvm_weights(row)

    def program_targets(self, row: int, targets, config=None):
        """Closed-loop programming of one row to integer target weights (``golden.program``:
        what the tile's ``target`` stream does); writes the resulting codes and returns the
        ``golden.program.RowResult``. ``config`` is a ``ProgramConfig`` (default: the PROG_*
        registers' reset values). Stuck devices of the injected faults do not move."""
        from .program import ProgramConfig, program_row
        row_checked = check_int("row", row, 0, self._params.rows - 1)
        stuck = None if self._faults is None else self._faults.stuck[row_checked]
        result = program_row(targets, row, ProgramConfig() if config is None else config,
                             self._params, stuck=stuck)
        self.program_row(row, result.codes)
        return result

    def program(self, codes) -> None:
        """Write the whole array of codes ``(rows, cols, devices_per_weight)`` (stuck devices
        of the injected faults keep their stuck codes)."""
        p = self._params
        c = check_codes(codes, (p.rows, p.cols, p.devices_per_weight), p)
        if self._faults is not None:
            c = self._faults.apply(c)
        w = _weights_of(c, p)
        self._codes[...] = c
        self._weights[...] = w
        self._refresh_mvm_weights()

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

    @staticmethod
    def _check_index(mvm_index, batch_shape: tuple) -> int:
        """``mvm_index`` validated, and so is the index of the batch's last vector."""
        if type(mvm_index) is int and 0 <= mvm_index and (
                mvm_index + max(1, batch_shape[0] if batch_shape else 1) <= MVM_INDEX_MAX + 1):
            return mvm_index
        mvm_index = check_int("mvm_index", mvm_index, 0, MVM_INDEX_MAX)
        if batch_shape and batch_shape[0] > 1:
            check_int(f"mvm_index + {batch_shape[0] - 1} (the last vector of the batch)",
                      mvm_index + batch_shape[0] - 1, 0, MVM_INDEX_MAX)
        return mvm_index

    def _noise(self, cfg: TileConfig, mvm_index, batch_shape: tuple) -> np.ndarray | None:
        """Read noise of MVMs ``mvm_index, mvm_index + 1, ...`` (None when NOISE_SIGMA = 0)."""
        mvm_index = self._check_index(mvm_index, batch_shape)
        if not cfg.noise_sigma:
            return None
        index = (np.int64(mvm_index) + np.arange(batch_shape[0], dtype=np.int64) if batch_shape
                 else np.int64(mvm_index))
        return read_noise(cfg.noise_seed, cfg.noise_sigma, index, self._params.cols)

    def _noise_row(self, dv: _Derived, n: int, scaled: bool = False) -> np.ndarray:
        """Read noise of MVM ``n`` (read-only, ``(cols,)``): float64 on the float charge path,
        int64 otherwise; with ``scaled``, ``noise * gain_scaled + bias`` of ``dv``'s conversion
        (float64; exact when ``dv.conv.raw_float_exact``).

        When ``n`` follows the previous MVM of this thread with the same seed and sigma (the
        tile stepping through MVM_COUNT), the noise of the next ``_NOISE_AHEAD`` MVMs is drawn
        in one vectorized pass and kept (and scaled once per configuration); later calls in
        that range take their row from it.
        """
        s = self._scratch
        cfg = dv.cfg
        key = (cfg.noise_seed, cfg.noise_sigma)
        block = getattr(s, "noise_block", None)
        sequential = getattr(s, "noise_next", None) == (key, n)
        s.noise_next = (key, n + 1)
        if block is None or block[0] != key or not 0 <= n - block[1] < len(block[2]):
            m = min(_NOISE_AHEAD, MVM_INDEX_MAX - n + 1) if sequential else 1
            rows = noise_rows(sequential_keys(key[0], n, m), key[1], self._params.cols)
            rows = rows.astype(np.float64 if self._float_charge else np.int64)
            rows.flags.writeable = False
            # [key, first MVM, noise, the _Derived its scaled copy is for, scaled copy]
            s.noise_block = block = [key, n, rows, None, None]
        if not scaled:
            return block[2][n - block[1]]
        if block[3] is not dv:
            rows = block[2] * dv.conv.gain_scaled
            rows += dv.conv.bias
            rows.flags.writeable = False
            block[3], block[4] = dv, rows
        return block[4][n - block[1]]

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
        weights, weights_f64 = self._mvm_weights, (self._weights_f64_t.T if self._float_charge
                                                  else None)
        lanes, cols = self._alive_with(dv.cfg)
        if dv.dead:
            # dead lanes and columns of the configuration (FAULT_LANES, FAULT_COLS)
            weights = self._weights * lanes[:, None] * cols[None, :]
            weights_f64 = None
        if noise is not None and not cols.all():
            noise = noise * cols            # a dead column's capacitor gets no noise either
        charge, charge_sat, cap_sat = crossbar.integrate(
            durations, signs, weights, p, weights_f64=weights_f64, noise=noise)
        z = dv.conv.z(charge_sat)
        y = dv.conv.y(z)
        out_sat = np.any(z > dv.conv.hi, axis=-1)
        return MvmResult(durations=durations, signs=signs, charge=charge, charge_sat=charge_sat,
                         z=z, y=y, cap_sat=cap_sat, out_sat=out_sat, timing=dv.timing)

    def _alive_with(self, cfg: TileConfig) -> tuple[np.ndarray, np.ndarray]:
        """(lanes alive (rows,), columns alive (cols,)) of the fault map and the resolved
        configuration's dead lanes and columns together."""
        p = self._params
        lanes = np.ones(p.rows, dtype=bool) if self._alive is None else self._alive[0].copy()
        cols = np.ones(p.cols, dtype=bool) if self._alive is None else self._alive[1].copy()
        if cfg.dead_lanes is not None:
            lanes &= ~cfg.dead_lanes
        if cfg.dead_cols is not None:
            cols &= ~cfg.dead_cols
        return lanes, cols

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
        conv = dv.conv
        cfg = dv.cfg
        if dv.dead or (cfg.noise_sigma and self._alive is not None
                       and not self._alive[1].all()):
            # dead lanes or columns in the configuration, or dead columns with read noise
            # (which they do not get): the exact step-by-step path
            return self.run(x, config, mvm_index).y
        if x.ndim == 2 and self._float_charge:
            # the words are checked block by block while they are copied
            try:
                mvm_index = self._check_index(mvm_index, x.shape[:-1])
            except (TypeError, ValueError):
                self._check_words(x, dv)    # a bad word is reported first
                raise
            return self._mvm_batch(x, dv, mvm_index)
        self._check_words(x, dv)
        mvm_index = self._check_index(mvm_index, x.shape[:-1])
        if not self._float_charge:
            q = x.astype(np.int64) @ self._mvm_weights
            if cfg.noise_sigma:
                q += (self._noise_row(dv, mvm_index) if x.ndim == 1 else
                      noise_rows(sequential_keys(cfg.noise_seed, mvm_index, x.shape[0]),
                                 cfg.noise_sigma, p.cols))
            return self._convert_int(q, conv)
        q = self._weights_f64_t @ x.astype(np.float64)
        if conv.raw_float_exact:
            # (Q + noise) * gain_scaled + bias, as Q * gain_scaled + (noise * gain_scaled +
            # bias): every term is a multiple of 2**-s with a numerator below 2**53
            q *= conv.gain_scaled
            q += self._noise_row(dv, mvm_index, scaled=True) if cfg.noise_sigma else conv.bias
            lo, hi = conv.raw_lo, conv.raw_hi
        elif conv.float_exact:
            if cfg.noise_sigma:
                q += self._noise_row(dv, mvm_index)     # exact: integers far below 2**53
            cmax = p.charge_max
            np.maximum(q, -cmax, out=q)
            np.minimum(q, cmax, out=q)
            q *= conv.gain_scaled
            q += conv.bias
            lo, hi = 0, conv.hi - conv.lo
        else:
            if cfg.noise_sigma:
                q += self._noise_row(dv, mvm_index)
            return self._convert_int(q.astype(np.int64), conv)
        np.maximum(q, lo, out=q)
        # truncation == floor (>= 0)
        return np.minimum(q, hi, out=np.empty(p.cols, dtype=np.int64), casting="unsafe")

    def _check_words(self, x: np.ndarray, dv: _Derived) -> None:
        """Raise, naming the first bad word, when a word of ``x`` is out of range."""
        if x.size and (np.minimum.reduce(x, axis=None) < dv.in_lo
                       or np.maximum.reduce(x, axis=None) > dv.in_hi):
            ilp.check_words(x, dv.mode, self._params, name="x")

    def _mvm_batch(self, x: np.ndarray, dv: _Derived, mvm_index: int) -> np.ndarray:
        """Float charge path of a batch ``x`` (integer words of unchecked range): chunks of
        ``self._chunk`` vectors through one BLAS product each. Blocks of ``self._block``
        vectors, small enough to stay in the core's cache, are range-checked while they are
        copied to float64, and then get their read noise and their conversion."""
        p = self._params
        conv, cfg = dv.conv, dv.cfg
        n = x.shape[0]
        out = np.empty((n, p.cols), dtype=np.int64)
        if n == 0:
            return out
        chunk = min(n, self._chunk)
        xbuf, qbuf = self._buffers(chunk)
        sigma = cfg.noise_sigma
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            m = stop - start
            xf = xbuf[:m * p.rows].reshape(m, p.rows)
            qf = qbuf[:m * p.cols].reshape(m, p.cols)
            xs = x[start:stop]
            for a in range(0, m, self._block):
                b = min(m, a + self._block)
                xb = xs[a:b]
                if (np.minimum.reduce(xb, axis=None) < dv.in_lo
                        or np.maximum.reduce(xb, axis=None) > dv.in_hi):
                    self._check_words(x, dv)
                np.copyto(xf[a:b], xb, casting="unsafe")   # exact: |x| < 2**17
            np.matmul(xf, self._weights_f64_t.T, out=qf)
            keys = sequential_keys(cfg.noise_seed, mvm_index + start, m) if sigma else None
            if not conv.float_exact:
                if sigma:
                    qf += noise_rows(keys, sigma, p.cols)
                out[start:stop] = self._convert_int(qf.astype(np.int64), conv)
                continue
            self._finish(qf, out[start:stop], keys, conv, sigma)
        return out

    def _finish(self, qf: np.ndarray, out: np.ndarray, keys, conv: Conversion,
                sigma: int) -> None:
        """Read noise (``keys``: one per vector, when ``sigma``) and conversion of the float64
        charges ``qf`` into the words ``out``, block by block; ``qf`` is overwritten."""
        p = self._params
        cmax = p.charge_max
        m = qf.shape[0]
        if sigma:
            nbuf, tbuf = self._noise_buffers(min(m, self._block))
        for a in range(0, m, self._block):
            b = min(m, a + self._block)
            qb = qf[a:b]
            if sigma:
                qb += noise_rows(keys[a:b], sigma, p.cols, out=nbuf[:b - a], tmp=tbuf[:b - a])
            if conv.raw_float_exact:
                qb *= conv.gain_scaled
                qb += conv.bias
                lo, hi = conv.raw_lo, conv.raw_hi
            else:
                np.maximum(qb, -cmax, out=qb)
                np.minimum(qb, cmax, out=qb)
                qb *= conv.gain_scaled
                qb += conv.bias
                lo, hi = 0, conv.hi - conv.lo
            # the last clip writes the words: truncation == floor (>= 0)
            np.maximum(qb, lo, out=qb)
            np.minimum(qb, hi, out=out[a:b], casting="unsafe")

    def _noise_buffers(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-thread int32/uint32 scratch of the read noise of ``m`` vectors."""
        s = self._scratch
        nbuf = getattr(s, "noise", None)
        if nbuf is None or nbuf.shape[0] < m:
            s.noise = nbuf = np.empty((m, self._params.cols), dtype=np.int32)
            s.noise_tmp = np.empty((m, self._params.cols), dtype=np.uint32)
        return nbuf, s.noise_tmp

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
