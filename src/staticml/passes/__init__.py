"""Passes and analyses over the IR: pure functions of a Graph."""
