"""staticml: compile trained models into verified, dependency-free native libraries.

    import staticml
    art = staticml.build(model, sample=X, out="dist/churn", name="churn")
    art = staticml.load("dist/churn")   # checks every file's sha256 first
    art.predict(X); art.predict_proba(X); art.predict_one({"age": 42, "city": "Oslo"})
    staticml.verify("dist/churn", model, X_holdout)   # -> parity report
"""

__version__ = "0.1.0"

from .api import build, data_verify, drift, load, verify  # noqa: E402
from .errors import (  # noqa: E402
    ArtifactError,
    BuildError,
    InputError,
    ModelFileError,
    ParityError,
    StaticMLError,
    ToolchainError,
    UnsupportedModelError,
)
from .runtime.artifact import Artifact  # noqa: E402

__all__ = [
    "__version__", "build", "load", "verify", "drift", "data_verify", "Artifact", "StaticMLError",
    "UnsupportedModelError", "ModelFileError", "BuildError", "ParityError", "ToolchainError",
    "ArtifactError", "InputError",
]
