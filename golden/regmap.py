"""Register maps as data, down to the field.

Every register of the tile (and of the chip, which reuses these classes) is described here once:
name, byte offset, access, and its fields with bit position, width, reset value and legal range.
Sizes that depend on the parameters are written as expressions over the parameter object's
attributes (``"in_bits"``, ``"code_max"``, ...) so that one description serves every parameter
set, the documentation shows the rule rather than one number, and :meth:`RegisterMap.resolve`
turns it into concrete integers for a given parameter set.

Three things are built from this data and nothing else:

- the golden register model's decoding, legality checks and read-back (``golden.regs``),
- the RTL's decoding, legality checks and read-back (``hdl.csr``),
- the register table of ``docs/spec.md`` (``python -m golden.regmap`` prints it; a test holds
  the document to it).

A field's name is unique within its map and is the name of the signal that holds it in the RTL.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field as dc_field
from typing import Any, Iterable

__all__ = ["Field", "Register", "RegisterMap", "ResolvedField", "ResolvedRegister",
           "ResolvedMap", "WORD_BITS", "OKAY", "SLVERR", "evaluate", "bits_for_range",
           "print_table"]

WORD_BITS = 32          #: data width of the register bus (AXI4-Lite)
OKAY, SLVERR = 0, 2     #: AXI responses

ACCESS = ("RO", "RW", "RW1C")
_BUILTINS = {"min": min, "max": max}


def evaluate(expr, params) -> int:
    """Value of a size expression: an int, or a Python expression over ``params``' attributes
    (``"2 ** (out_bits - 1) - 1"``, ``"code_max"``)."""
    if isinstance(expr, bool):
        raise TypeError(f"size expression must be an int or a string, not {expr!r}")
    if isinstance(expr, int):
        return expr
    if not isinstance(expr, str):
        raise TypeError(f"size expression must be an int or a string, not {expr!r}")

    class Names(dict):
        def __missing__(self, key):
            if key in _BUILTINS:
                return _BUILTINS[key]
            try:
                return getattr(params, key)
            except AttributeError:
                raise NameError(f"{key!r} in register-map expression {expr!r} is not an "
                                f"attribute of {type(params).__name__}") from None

    value = eval(expr, {"__builtins__": {}}, Names())  # noqa: S307
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"register-map expression {expr!r} gave {value!r}, not an int")
    return value


def bits_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """(width, signed) of the narrowest two's-complement or unsigned value holding [lo, hi]."""
    if lo < 0:
        return max((-lo - 1).bit_length(), hi.bit_length()) + 1, True
    return max(1, hi.bit_length()), False


@dataclass(frozen=True)
class Field:
    """One field of a register.

    name : unique in the map; the RTL signal's name
    lsb, width : position in the 32-bit word (width may be an expression)
    reset : value after reset (RW fields) or the constant value (fields of ``const`` registers);
        an expression or an int
    lo, hi : legal values of a write (inclusive, expressions); default: every value of the width
    signed : the field is two's complement in its bits (``lo`` may be negative)
    enum : an ``enum.IntEnum``; a write is legal only with one of its values
    doc : one line for the documentation
    """
    name: str
    lsb: int
    width: Any = 1
    reset: Any = 0
    lo: Any = None
    hi: Any = None
    signed: bool = False
    enum: type | None = None
    doc: str = ""


@dataclass(frozen=True)
class Register:
    """A register, or a window of ``count`` registers 4 bytes apart (``GAIN[c]``).

    access : "RO", "RW" or "RW1C" (write 1 to clear)
    config : a configuration register: a write while the block is busy is refused (BUSY_WRITE)
    const : read-only with constant contents (the fields' ``reset`` values)
    rule : name of a legality rule beyond the fields' ranges, checked by name in the golden
        model and the RTL (documented in ``doc``)
    present : the name of a boolean parameter; the register exists only where it is true (it
        is left out of the resolved map, so its addresses are unmapped: SLVERR)
    """
    name: str
    offset: int
    access: str
    fields: tuple[Field, ...]
    doc: str = ""
    count: Any = None
    config: bool = False
    const: bool = False
    rule: str | None = None
    present: str | None = None

    def exists(self, params) -> bool:
        """Whether the register exists for ``params`` (see ``present``)."""
        if self.present is None:
            return True
        value = getattr(params, self.present)
        if not isinstance(value, bool):
            raise TypeError(f"{self.name}.present names {self.present!r}, which is {value!r}, "
                            f"not a bool")
        return value

    @property
    def address(self) -> int:
        """Byte address (of element 0 of a window)."""
        return self.offset

    def __post_init__(self):
        if self.access not in ACCESS:
            raise ValueError(f"access of {self.name} must be one of {ACCESS}, not {self.access!r}")
        if self.offset % 4:
            raise ValueError(f"offset of {self.name} must be a multiple of 4, not {self.offset:#x}")


@dataclass(frozen=True)
class ResolvedField:
    name: str
    lsb: int
    width: int
    reset: int
    lo: int
    hi: int
    signed: bool
    enum: type | None

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    @property
    def storage(self) -> tuple[int, bool]:
        """(width, signed) of the narrowest storage holding every legal value."""
        return bits_for_range(self.lo, self.hi)

    def extract(self, word: int) -> int:
        """The field's value in a bus word (sign-extended for signed fields)."""
        v = (word >> self.lsb) & ((1 << self.width) - 1)
        if self.signed and v >> (self.width - 1):
            v -= 1 << self.width
        return v

    def insert(self, value: int) -> int:
        """The field's value placed in a bus word."""
        return (value & ((1 << self.width) - 1)) << self.lsb

    def legal(self, value: int) -> bool:
        if self.enum is not None:
            return value in {int(e) for e in self.enum}
        return self.lo <= value <= self.hi


@dataclass(frozen=True)
class ResolvedRegister:
    name: str
    offset: int
    access: str
    fields: tuple[ResolvedField, ...]
    count: int | None
    config: bool
    const: bool
    rule: str | None

    @property
    def reserved_mask(self) -> int:
        """Bits that belong to no field (a write must leave them 0)."""
        used = 0
        for f in self.fields:
            used |= f.mask
        return ((1 << WORD_BITS) - 1) & ~used

    @property
    def size(self) -> int:
        return 4 * (self.count if self.count is not None else 1)

    def field(self, name: str) -> ResolvedField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def reset_word(self) -> int:
        return self.pack({f.name: f.reset for f in self.fields})

    def pack(self, values: dict[str, int]) -> int:
        """A bus word from field values (every field must be given)."""
        word = 0
        for f in self.fields:
            word |= f.insert(int(values[f.name]))
        return word

    def unpack(self, word: int) -> dict[str, int]:
        return {f.name: f.extract(word) for f in self.fields}

    def check(self, word: int) -> str | None:
        """Why ``word`` is illegal for this register (rules aside), or None."""
        if word & self.reserved_mask:
            return f"reserved bits {word & self.reserved_mask:#x} set"
        for f in self.fields:
            v = f.extract(word)
            if not f.legal(v):
                legal = (", ".join(f"{e.name}={int(e)}" for e in f.enum) if f.enum
                         else f"[{f.lo}, {f.hi}]")
                return f"{self.name}.{f.name} = {v} is not in {legal}"
        return None


@dataclass(frozen=True)
class RegisterMap:
    """The registers of one block (data; sizes may be expressions over the parameters)."""
    name: str
    address_bits: int
    registers: tuple[Register, ...]

    def __post_init__(self):
        names = [r.name for r in self.registers]
        if len(set(names)) != len(names):
            raise ValueError(f"register names of {self.name} repeat")
        fields = [f.name for r in self.registers if not r.const for f in r.fields]
        if len(set(fields)) != len(fields):
            dup = sorted({n for n in fields if fields.count(n) > 1})
            raise ValueError(f"field names of {self.name} repeat: {dup}")

    def __getitem__(self, name: str) -> Register:
        for r in self.registers:
            if r.name == name:
                return r
        raise KeyError(f"{self.name} has no register {name!r}")

    def resolve(self, params) -> "ResolvedMap":
        regs = []
        for r in self.registers:
            if not r.exists(params):
                continue
            fields = []
            for f in r.fields:
                width = evaluate(f.width, params)
                if not 1 <= width <= WORD_BITS or f.lsb + width > WORD_BITS:
                    raise ValueError(f"{r.name}.{f.name} [{f.lsb}+{width}] does not fit "
                                     f"a {WORD_BITS}-bit word")
                if f.signed:
                    lo_d, hi_d = -(1 << (width - 1)), (1 << (width - 1)) - 1
                else:
                    lo_d, hi_d = 0, (1 << width) - 1
                lo = lo_d if f.lo is None else evaluate(f.lo, params)
                hi = hi_d if f.hi is None else evaluate(f.hi, params)
                if not lo_d <= lo <= hi <= hi_d:
                    raise ValueError(f"legal range [{lo}, {hi}] of {r.name}.{f.name} does not "
                                     f"fit its {width} bits")
                reset = evaluate(f.reset, params)
                if not lo_d <= reset <= hi_d:
                    raise ValueError(f"reset value {reset} of {r.name}.{f.name} does not fit "
                                     f"its {width} bits")
                fields.append(ResolvedField(f.name, f.lsb, width, reset, lo, hi, f.signed,
                                            f.enum))
            count = None if r.count is None else evaluate(r.count, params)
            regs.append(ResolvedRegister(r.name, r.offset, r.access, tuple(fields), count,
                                         r.config, r.const, r.rule))
        resolved = ResolvedMap(self, tuple(regs))
        resolved.check_overlaps()
        return resolved

    # -- documentation --------------------------------------------------------------------
    def markdown(self) -> str:
        """The register table of the documentation (one row per register or window)."""
        lines = ["| offset | name | access | fields: name [bits] reset, legal values |",
                 "|---|---|---|---|"]
        for r in sorted(self.registers, key=lambda r: r.offset):
            name = f"`{r.name}`" if r.count is None else f"`{r.name}[i]`, i < {r.count}"
            offset = f"0x{r.offset:04X}" if r.count is None else f"0x{r.offset:04X} + 4i"
            access = r.access + (", config" if r.config else "")
            if r.present is not None:
                access += f", only with `{r.present}`"
            parts = []
            for f in r.fields:
                if f.width == 1:
                    bits = f"[{f.lsb}]"
                elif isinstance(f.width, str):
                    top = f"{f.width}-1" if f.lsb == 0 else f"{f.lsb}+{f.width}-1"
                    bits = f"[{top}:{f.lsb}]"
                else:
                    bits = f"[{f.lsb + f.width - 1}:{f.lsb}]"
                text = f"`{f.name}` {bits}" + (" signed" if f.signed else "")
                if r.const:
                    text += f" = {_show(f.reset)}"
                elif r.access == "RW":
                    text += f", reset {_show(f.reset)}"
                if f.enum is not None:
                    text += ", " + " / ".join(f"{e.name} {int(e)}" for e in f.enum)
                elif f.lo is not None or f.hi is not None:
                    if f.lo is not None:
                        lo = _show(f.lo)
                    else:
                        lo = f"-2^({f.width}-1)" if f.signed else "0"
                    if f.hi is not None:
                        hi = _show(f.hi)
                    elif isinstance(f.width, int):
                        hi = str((1 << (f.width - 1 if f.signed else f.width)) - 1)
                    else:
                        hi = f"2^{f.width}-1"
                    text += f", legal {lo}..{hi}"
                if f.doc:
                    text += f" ({f.doc})"
                parts.append(text)
            cell = "; ".join(parts)
            if r.doc:
                cell += f". {r.doc[0].upper()}{r.doc[1:]}"
            lines.append(f"| {offset} | {name} | {access} | {cell} |")
        return "\n".join(lines) + "\n"


def print_table(rmap: RegisterMap, prog: str, description: str, argv=None) -> int:
    """The command line of a register map's module: print its documentation table."""
    import argparse
    import sys
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.parse_args(argv)
    sys.stdout.write(rmap.markdown())
    return 0


def _show(v) -> str:
    if isinstance(v, int) and v > 0xFFFF:
        return f"{v:#x}"
    return str(v)


@dataclass(frozen=True)
class ResolvedMap:
    """A register map for one parameter set: addresses, fields and rules as integers."""
    source: RegisterMap
    registers: tuple[ResolvedRegister, ...]

    @property
    def address_bits(self) -> int:
        return self.source.address_bits

    def __getitem__(self, name: str) -> ResolvedRegister:
        for r in self.registers:
            if r.name == name:
                return r
        raise KeyError(f"{self.source.name} has no register {name!r}")

    def __iter__(self):
        return iter(self.registers)

    def address(self, name: str, index: int | None = None) -> int:
        """Byte address of a register, or of element ``index`` of a window."""
        r = self[name]
        if r.count is None:
            if index is not None:
                raise ValueError(f"{name} is a single register, not a window")
            return r.offset
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < r.count:
            raise ValueError(f"{name} index must be an integer in [0, {r.count - 1}], "
                             f"not {index!r}")
        return r.offset + 4 * index

    def decode(self, address: int) -> tuple[ResolvedRegister, int | None] | None:
        """(register, window index or None) at a byte address, or None if unmapped."""
        if address % 4 or not 0 <= address < (1 << self.address_bits):
            return None
        for r in self.registers:
            if r.offset <= address < r.offset + r.size:
                return r, (None if r.count is None else (address - r.offset) // 4)
        return None

    def check_overlaps(self) -> None:
        spans = sorted((r.offset, r.offset + r.size, r.name) for r in self.registers)
        for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
            if b0 < a1:
                raise ValueError(f"{an} [{a0:#x}, {a1:#x}) overlaps {bn} at {b0:#x}")
        top = spans[-1][1] if spans else 0
        if top > (1 << self.address_bits):
            raise ValueError(f"{spans[-1][2]} ends at {top:#x}, beyond the "
                             f"{self.address_bits}-bit address space")

    def fields(self) -> Iterable[tuple[ResolvedRegister, ResolvedField]]:
        for r in self.registers:
            for f in r.fields:
                yield r, f
