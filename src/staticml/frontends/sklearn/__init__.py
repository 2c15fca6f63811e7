"""scikit-learn frontends: importing this package registers every sklearn converter."""

from . import linear, neural, pipeline, preprocessing, trees  # noqa: F401  (registration)
