"""Read model files safely.

``.skops`` goes through skops' audited loader: only types skops trusts by default, plus
scikit-learn's own (private) classes, are instantiated; anything else is refused with its
name. ``.pkl``/``.joblib`` run arbitrary code when loaded, so they need an explicit
``trust_pickle=True``.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from ..errors import ModelFileError, UnsupportedModelError

_PICKLE = (".pkl", ".pickle", ".joblib")
MAX_MODEL_BYTES = 1 << 30
# How to write each vendor file again, the fix for a malformed one.
_RESAVE = {".txt": ("LightGBM", "booster.save_model('model.txt')"),
           ".json": ("XGBoost", "booster.save_model('model.json')"),
           ".ubj": ("XGBoost", "booster.save_model('model.ubj')")}
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_model_file(path: str | Path, trust_pickle: bool = False) -> tuple[Any, dict]:
    """Load a model file; returns (model, source info for the manifest)."""
    path = Path(path)
    if not path.is_file():
        raise UnsupportedModelError(f"model file {path} does not exist")
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise UnsupportedModelError(
            f"{path.name} is {path.stat().st_size >> 20} MiB, over staticml's "
            f"{MAX_MODEL_BYTES >> 20} MiB limit for model files")
    data = path.read_bytes()
    info = {"file": path.name, "sha256": sha256_bytes(data)}
    suffix = path.suffix.lower()
    if suffix == ".skops":
        return _load_skops(path), info
    if suffix in _PICKLE:
        if not trust_pickle:
            raise UnsupportedModelError(
                f"{path.name} is a pickle: loading it runs arbitrary code. Pass --trust-pickle "
                "(trust_pickle=True) if you trust its origin, or save the model with "
                "skops.io.dump(model, 'model.skops') instead")
        try:  # joblib reads plain pickles and its own (often saved as .pkl too)
            import joblib

            return joblib.load(path), info
        except Exception as exc:  # unpickling can fail in many ways
            raise UnsupportedModelError(f"{path.name} is not a loadable pickle: {exc}") from None
    if suffix in _RESAVE:
        try:
            return _load_vendor_file(path, data, suffix), info
        except ModelFileError as exc:
            library, call = _RESAVE[suffix]
            raise ModelFileError(
                f"{str(exc).rstrip('.')}. The file is damaged or was not written by {library}: "
                f"write it again from the trained model with {call}") from None
    raise UnsupportedModelError(
        f"{path.name}: unknown model file type {suffix!r}; use .skops, or .pkl/.joblib with "
        "--trust-pickle, XGBoost .json/.ubj or LightGBM .txt")


def _load_vendor_file(path: Path, data: bytes, suffix: str) -> Any:
    if suffix == ".txt":
        from .lightgbm import load_lightgbm_file

        return load_lightgbm_file(path)
    from .xgboost import parse_model

    return parse_model(data, source=path.name, fmt=suffix[1:])


def _load_skops(path: Path) -> Any:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise UnsupportedModelError(f"{path.name} is not a valid .skops file: {exc}") from None
    refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise UnsupportedModelError(
            f"{path.name} contains types skops does not trust: {refused}. staticml loads only "
            "scikit-learn, numpy and scipy types from .skops files")
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise UnsupportedModelError(f"{path.name} could not be loaded by skops: {exc}") from None


def describe_model(model: Any) -> str:
    """``Pipeline(ColumnTransformer, LogisticRegression)``-style summary."""
    name = type(model).__name__
    steps = getattr(model, "steps", None)
    if steps:
        inner = ", ".join(describe_model(s) for _, s in steps if s not in (None, "passthrough"))
        return f"{name}({inner})"
    return name


def model_sha256(model: Any) -> str:
    try:
        return sha256_bytes(pickle.dumps(model, protocol=4))
    except Exception:
        return ""
