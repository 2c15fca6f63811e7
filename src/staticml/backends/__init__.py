"""Backends print the IR in a target language; they never see an estimator."""
