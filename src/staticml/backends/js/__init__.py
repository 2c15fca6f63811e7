"""JavaScript backend: the ES module (``NAME.mjs``) that runs ``NAME.wasm`` in browsers and node."""

from .module import render_mjs

__all__ = ["render_mjs"]
