"""Runtime: load a bundle and predict through one of its compiled targets."""
