"""The tile's fault memory: stuck devices per row (docs/faults.md), behavioral.

One word per row: the row's FAULT_MASK words (bit k: device k = c * devices_per_weight + d is
stuck), then its FAULT_LEVEL words (bit k: stuck at code_max, else at 0), written 32 bits at a
time from the register file. It is read (asynchronously) at the row of a host row write, whose
codes are merged with it (:func:`merge_codes`: a stuck device's code is replaced by its stuck
code), at the row of a closed-loop command (the row programmer samples it) and at FAULT_ROW
(read-back). The memory has no reset: like the codes, the faults are the devices'.
"""
from amaranth.hdl import Cat, Mux, Signal, unsigned
from amaranth.lib import memory

from golden.regs import fault_device_words
from golden.spec import TileParams

__all__ = ["FaultMemory", "merge_codes"]


def merge_codes(m, codes, stuck, full, params: TileParams):
    """The codes a write stores: ``codes`` (a flat row of cells, device k at bits
    [k * code_bits, (k + 1) * code_bits)) with every stuck device's code replaced by its stuck
    code (code_max where ``full``, 0 otherwise). ``stuck``/``full``: one bit per device, named
    signals. One multiplexer per device, on slices of named signals: Amaranth's netlist builder
    re-emits the whole inner value for a slice of a slice (at 512 x 512, 2048 slices of a
    16384-bit slice took minutes), and a mask built by replicating each device's bit over its
    code took it 2.5 times as long as the multiplexers."""
    n = params.cols * params.devices_per_weight
    cb = params.code_bits
    cm = (1 << cb) - 1
    flat = Signal(n * cb, name="fault_merge_codes")
    m.d.comb += flat.eq(codes)
    return Cat(*(Mux(stuck[k], Mux(full[k], cm, 0), flat[k * cb:(k + 1) * cb])
                 for k in range(n)))


class FaultMemory:
    """The fault memory inside the tile's ``elaborate`` (``m``), written from ``domain``.

    ``write_port``: the register file's word writes (``addr`` = row, ``data`` = the 32-bit word
    replicated, ``en`` = one-hot of the word). :meth:`read` adds an asynchronous read port and
    returns ``(stuck, full)``, one bit per device of the row at ``addr``, and the whole word.
    """

    def __init__(self, m, params: TileParams, *, domain: str):
        self.params = p = params
        self.words = fault_device_words(p)
        self.devices = p.cols * p.devices_per_weight
        # at least two words: a one-word memory has a zero-width address (Verilator rejects it)
        self.mem = memory.Memory(shape=unsigned(2 * self.words * 32), depth=max(2, p.rows),
                                 init=[])
        m.submodules.faults = self.mem
        self._port = self.mem.write_port(domain=domain, granularity=32)
        self._m = m
        self._reads = 0

    def connect_writes(self, we, row, word, data):
        """Drive the write port: ``data`` into word ``word`` of row ``row`` when ``we``."""
        m = self._m
        m.d.comb += [self._port.addr.eq(row), self._port.data.eq(data.replicate(2 * self.words)),
                     self._port.en.eq(Cat(*((we & (word == k)) for k in range(2 * self.words))))]

    def read(self, addr):
        """``(stuck, full, word)`` of the row at ``addr`` (asynchronous read)."""
        port = self.mem.read_port(domain="comb")
        self._m.d.comb += port.addr.eq(addr)
        self._reads += 1
        word = Signal(len(port.data), name=f"fault_row_word_{self._reads}")
        # a row index beyond the array (a dropped row write, a refused command) has no faults;
        # the memory's own read of it would be undefined (X in Icarus)
        self._m.d.comb += word.eq(Mux(addr < self.params.rows, port.data, 0))
        n = self.devices
        # named signals: their bits are sliced one per device (see merge_codes)
        stuck = Signal(n, name=f"fault_stuck_{self._reads}")
        full = Signal(n, name=f"fault_full_{self._reads}")
        self._m.d.comb += [stuck.eq(word[:n]),
                           full.eq(word[self.words * 32:self.words * 32 + n])]
        return stuck, full, word
