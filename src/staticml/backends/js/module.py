"""Render ``NAME.mjs``: the ES module that wraps ``NAME.wasm`` for browsers and node.

The JavaScript is a fixed, hand-written template (``template.mjs``, readable and tested on
its own); only data is substituted: the input schema (names, kinds, vocabularies: the JS
side maps strings to the same codes as ``staticml.data.schema.RowEncoder``), the output
layout from the manifest, and the error texts of ``staticml.errors`` so a refused row reads
the same in JavaScript as in Python. Data goes in as JSON, which is a JavaScript literal
(``ensure_ascii`` keeps U+2028/U+2029 and other non-ASCII characters escaped).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from ... import __version__, errors

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OUTPUT_KEYS = ("n_outputs", "proba", "decision", "values", "scores", "classes", "squeeze")


def template_text() -> str:
    return (resources.files(__package__) / "template.mjs").read_text(encoding="utf-8")


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def render_mjs(name: str, schema: dict, outputs: dict) -> str:
    """The ES module source for artifact ``name``.

    Args:
        name: the artifact name (a C identifier; the module loads ``NAME.wasm``).
        schema: ``{"inputs": [{"name", "dtype", "vocabulary"}, ...]}``, as in
            ``NAME_schema_json()`` or the manifest's ``inputs`` wrapped in a dict.
        outputs: the manifest's ``outputs`` record (``n_outputs``, ``proba``/``decision``/
            ``values``/``scores`` as ``[start, stop]`` or null, ``classes``, ``squeeze``).
    """
    if not _NAME.match(name):
        raise ValueError(f"name {name!r} is not a C identifier")
    inputs = [{"name": c["name"], "dtype": c["dtype"], "vocabulary": list(c.get("vocabulary", ()))}
              for c in schema["inputs"]]
    outs = {k: outputs.get(k) for k in _OUTPUT_KEYS if k in outputs}
    if "classes" in outs:
        outs["classes"] = [c.item() if hasattr(c, "item") else c for c in outs["classes"]]
    messages = {code: text for code, text in errors.MESSAGES.items() if code}
    subs = {
        "@@NAME@@": name,
        "@@VERSION@@": __version__,
        "@@SCHEMA@@": _literal({"name": schema.get("name", name), "inputs": inputs}),
        "@@OUTPUTS@@": _literal(outs),
        "@@MESSAGES@@": _literal(messages),
        "@@FIXES@@": _literal(errors.FIXES),
    }
    return re.sub("|".join(map(re.escape, subs)), lambda m: subs[m.group(0)], template_text())
