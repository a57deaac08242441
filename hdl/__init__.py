"""Amaranth 0.5 RTL of the PCM analog-AI tile (see docs/spec.md)."""
