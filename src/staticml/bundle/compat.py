"""Can bundle NEW replace bundle OLD without touching the application?

An application depends on a bundle through its *interface*: the function names (the
artifact name), the ABI version, the input struct / flat row (which columns, in which
order, of which types), the categories it may pass, the output row (classes and their
order, output count) and the platforms it ships on. Anything that changes those breaks
the application; a change of the model's numbers does not. Each finding says which it is.
"""

from __future__ import annotations

from typing import Any


def _finding(kind: str, breaking: bool, detail: str) -> dict:
    return {"kind": kind, "breaking": breaking, "detail": detail}


def compare(old: dict, new: dict) -> dict[str, Any]:
    """Findings and the verdict ``compatible`` (no breaking finding)."""
    out: list[dict] = []
    if old["name"] != new["name"]:
        out.append(_finding("name", True, f"functions are renamed: {old['name']}_* -> "
                                          f"{new['name']}_*"))
    if old.get("abi_version") != new.get("abi_version"):
        out.append(_finding("abi", True, f"ABI version {old.get('abi_version')} -> "
                                         f"{new.get('abi_version')}"))
    if old.get("task") != new.get("task"):
        out.append(_finding("task", True, f"{old.get('task')} -> {new.get('task')}"))
    oi = {c["name"]: c for c in old["inputs"]}
    ni = {c["name"]: c for c in new["inputs"]}
    for name in oi.keys() - ni.keys():
        out.append(_finding("input_removed", True,
                            f"input {name!r} is gone: the struct/row layout changes"))
    for name in ni.keys() - oi.keys():
        fallback = ni[name].get("fallback")
        out.append(_finding("input_added", True,
                            f"new input {name!r}" + (" (has a fallback, but the struct and "
                                                     "row layout still change)" if fallback
                                                     else ": the application must pass it")))
    common = [n for n in oi if n in ni]
    if [n for n in [c["name"] for c in old["inputs"]] if n in ni] != \
            [n for n in [c["name"] for c in new["inputs"]] if n in oi]:
        out.append(_finding("input_order", True, "inputs are in a different order"))
    for name in common:
        a, b = oi[name], ni[name]
        if a["dtype"] != b["dtype"]:
            out.append(_finding("input_retyped", True,
                                f"{name!r}: {a['dtype']} -> {b['dtype']}"))
            continue
        if a["dtype"] == "string":
            va, vb = a.get("vocabulary", []), b.get("vocabulary", [])
            added = [c for c in vb if c not in va]
            removed = [c for c in a.get("categories", va) if c not in vb]
            if added:
                out.append(_finding("categories_added", False,
                                    f"{name!r} now knows {added[:8]}"))
            if removed:
                out.append(_finding("categories_removed", False,
                                    f"{name!r}: {removed[:8]} become unseen categories"))
        if a.get("fallback") != b.get("fallback"):
            out.append(_finding("fallback", False,
                                f"{name!r}: fallback {a.get('fallback')} -> {b.get('fallback')}"))
        ra, rb = a.get("range"), b.get("range")
        if ra and rb and ra != rb:
            out.append(_finding("range", False, f"{name!r}: training range {ra} -> {rb}"))
    oo, no = old["outputs"], new["outputs"]
    if oo.get("classes") != no.get("classes"):
        same_set = sorted(map(str, oo.get("classes") or [])) == \
            sorted(map(str, no.get("classes") or []))
        out.append(_finding("classes", True,
                            "class order changed" if same_set else
                            f"classes {oo.get('classes')} -> {no.get('classes')}"))
    if oo.get("n_outputs") != no.get("n_outputs"):
        out.append(_finding("outputs", True,
                            f"output row has {no.get('n_outputs')} values, was "
                            f"{oo.get('n_outputs')}"))
    for key in ("proba", "decision", "values", "scores"):
        if oo.get(key) != no.get(key) and oo.get("n_outputs") == no.get("n_outputs"):
            out.append(_finding("outputs", True, f"output layout of {key} changed"))
    gone = sorted(set(old.get("targets", {})) - set(new.get("targets", {})))
    if gone:
        out.append(_finding("targets_removed", True, f"no longer built for {gone}"))
    added_t = sorted(set(new.get("targets", {})) - set(old.get("targets", {})))
    if added_t:
        out.append(_finding("targets_added", False, f"also built for {added_t}"))
    pa = old.get("contract", {}).get("on_violation")
    pb = new.get("contract", {}).get("on_violation")
    if pa != pb:
        out.append(_finding("contract_policy", pb == "error",
                            f"on_violation {pa} -> {pb}" + (": rows outside the training "
                                                            "contract are now refused"
                                                            if pb == "error" else "")))
    if old.get("schema_sha256") != new.get("schema_sha256") and not any(
            f["breaking"] for f in out if f["kind"].startswith("input")):
        out.append(_finding("schema_hash", False, "schema hash changed (categories); "
                            "applications that pin NAME_schema_hash() must update it"))
    breaking = [f for f in out if f["breaking"]]
    return {"compatible": not breaking, "breaking": len(breaking), "findings": out,
            "old": {"name": old["name"], "model_version": old.get("model_version")},
            "new": {"name": new["name"], "model_version": new.get("model_version")}}
