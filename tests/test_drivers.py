"""Every driver follows the driver protocol of tb.protocol (names, arguments, coroutines)."""
import inspect

import pytest

from tb import protocol

DRIVERS = {
    "tb.simdrv.SimTileDriver": protocol.TileDriver,
    "tb.cocotbdrv.TileTB": protocol.TileDriver,
    "tb.chipsim.SimChipDriver": protocol.ChipDriver,
    "tb.chipdrv.ChipTB": protocol.ChipDriver,
}


def _load(path):
    module, name = path.rsplit(".", 1)
    return getattr(__import__(module, fromlist=[name]), name)


@pytest.mark.parametrize("path", list(DRIVERS))
def test_driver_follows_the_protocol(path):
    cls, proto = _load(path), DRIVERS[path]
    for name, member in inspect.getmembers(proto, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        impl = getattr(cls, name, None)
        assert impl is not None, f"{path} lacks {name}"
        assert inspect.iscoroutinefunction(impl), f"{path}.{name} is not a coroutine function"
        want = [p for p in inspect.signature(member).parameters.values()
                if p.kind is p.POSITIONAL_OR_KEYWORD]
        got = [p for p in inspect.signature(impl).parameters.values()
               if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert [p.name for p in got[:len(want)]] == [p.name for p in want], \
            f"{path}.{name}{inspect.signature(impl)} against the protocol's " \
            f"{inspect.signature(member)}"
        for w, g in zip(want, got):
            if w.default is not inspect.Parameter.empty:
                assert g.default == w.default, (path, name, w.name, g.default, w.default)
        # keyword-only arguments of the protocol: present, same defaults
        impl_kw = {p.name: p for p in inspect.signature(impl).parameters.values()
                   if p.kind is p.KEYWORD_ONLY}
        for w in inspect.signature(member).parameters.values():
            if w.kind is w.KEYWORD_ONLY:
                assert w.name in impl_kw, f"{path}.{name} lacks keyword argument {w.name}"
                assert impl_kw[w.name].default == w.default, (path, name, w.name)
