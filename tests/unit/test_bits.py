"""verification.bits: identical means identical bits; otherwise ulps are counted right."""

import numpy as np

from staticml.verification.bits import compare_bits, ulps


def test_identical_and_nan_rows() -> None:
    a = np.array([[1.0, np.nan], [0.5, 2.0]])
    rep = compare_bits(a, np.array([0, 2]), a.copy(), np.array([0, 2]))
    assert rep["identical"] and rep["identical_rows"] == 2 and rep["max_ulps"] == 0


def test_one_ulp_and_sign_of_zero() -> None:
    a = np.array([[1.0, 0.0]])
    b = np.array([[np.nextafter(1.0, 2.0), -0.0]])
    assert ulps(a, b).tolist() == [[1.0, 0.0]]
    rep = compare_bits(a, np.zeros(1), b, np.zeros(1))
    assert not rep["identical"] and rep["max_ulps"] == 1


def test_across_zero_and_nan_mismatch() -> None:
    tiny = 5e-324
    assert ulps(np.array([tiny]), np.array([-tiny]))[0] == 2.0
    rep = compare_bits(np.array([[1.0]]), np.zeros(1), np.array([[np.nan]]), np.zeros(1))
    assert rep["nan_mismatches"] == 1 and not rep["identical"]


def test_status_and_mask() -> None:
    a = np.array([[1.0], [2.0]])
    b = np.array([[1.0], [3.0]])
    rep = compare_bits(a, np.array([0, 2]), b, np.array([0, 0]), rows=np.array([True, False]))
    assert rep["identical"] and rep["rows"] == 1
    assert not compare_bits(a, np.array([0, 2]), a, np.array([0, 0]))["identical"]
