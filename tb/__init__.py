"""Testbench code: packing, scoreboard, amaranth.sim and cocotb drivers of the tile."""
