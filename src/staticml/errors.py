"""Exceptions and the error codes shared by every artifact.

    StaticMLError                  base of everything staticml raises on purpose
    ├── UnsupportedModelError      a model or option the compiler cannot translate exactly
    │   └── ModelFileError         a model file that is not what its library writes
    ├── BuildError                 compiling, linking or verifying an artifact failed
    │   └── ParityError            the artifact does not predict what the model predicts
    ├── ToolchainError             no usable C compiler, or it failed
    ├── ArtifactError              a bundle is missing, corrupted or tampered with
    └── InputError                 prediction input does not match the model's input contract

Error *codes* are what the C library returns; ``InputError`` carries one with the row and
column it concerns so a caller can act on it.
"""

from __future__ import annotations

# Codes returned by NAME_predict*; the C header defines the same numbers.
OK = 0
E_ARGUMENT = 1
E_MISSING_VALUE = 2
E_INFINITE_VALUE = 3
E_UNKNOWN_CATEGORY = 4
E_CONTRACT = 5

CODE_NAMES = {
    OK: "OK",
    E_ARGUMENT: "E_ARGUMENT",
    E_MISSING_VALUE: "E_MISSING_VALUE",
    E_INFINITE_VALUE: "E_INFINITE_VALUE",
    E_UNKNOWN_CATEGORY: "E_UNKNOWN_CATEGORY",
    E_CONTRACT: "E_CONTRACT",
}

MESSAGES = {
    OK: "ok",
    E_ARGUMENT: "invalid argument (NULL pointer or bad size)",
    E_MISSING_VALUE: "missing value (NaN/NULL) where the model cannot take one",
    E_INFINITE_VALUE: "infinite value where the model cannot take one",
    E_UNKNOWN_CATEGORY: "category not seen in training, and the encoder is set to reject it",
    E_CONTRACT: "value outside the training contract (range, categories or missingness seen "
    "in training), and the artifact was built to refuse such rows",
}

FIXES = {
    E_MISSING_VALUE: "fill the value, or add a SimpleImputer for this column to the pipeline",
    E_INFINITE_VALUE: "pass a finite number (scikit-learn rejects infinity here too)",
    E_UNKNOWN_CATEGORY: "pass one of the training categories, or fit the encoder with "
    "handle_unknown='ignore' / 'infrequent_if_exist'",
    E_ARGUMENT: "check the pointers and sizes passed to the library",
    E_CONTRACT: "check the input, or rebuild with --on-violation count to predict and count "
    "such rows instead",
}


class StaticMLError(Exception):
    """Base class of every error staticml raises on purpose."""


class UnsupportedModelError(StaticMLError):
    """The model (or one of its options) cannot be compiled exactly."""


class ModelFileError(UnsupportedModelError):
    """An XGBoost or LightGBM model file is malformed: truncated, corrupted, edited or hostile.

    Its own class because its fix differs from an unsupported model's: the model is fine, the
    file is not, so the loader can tell the user to write the file again from the library.
    """


class BuildError(StaticMLError):
    """Building the artifact failed; nothing was written to the output directory."""


class ParityError(BuildError):
    """The artifact's predictions differ from the model's beyond the stated tolerance."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


class ToolchainError(StaticMLError):
    """No usable C compiler was found, or compiling failed."""


class ArtifactError(StaticMLError):
    """A bundle is missing, unreadable, corrupted or tampered with."""


class InputError(StaticMLError, ValueError):
    """Prediction input violates the model's input contract."""

    def __init__(self, message: str, code: int = E_ARGUMENT, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.row = row
        self.column = column


def describe(code: int) -> str:
    return MESSAGES.get(code, f"unknown error code {code}")
