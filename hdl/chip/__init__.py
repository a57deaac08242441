"""The chip: tiles on a circuit-switched pulse mesh with ILP/OLP pairs and an AXI host
interface (docs/chip.md)."""
