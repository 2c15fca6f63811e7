"""Exact literals: what the generated C says is exactly what the model holds."""

import math
import struct

import pytest

from staticml.backends.literals import c_array, c_double, c_identifier, c_string


@pytest.mark.parametrize("x", [0.1, -0.0, 5e-324, 1.7976931348623157e308, 1 / 3, -2.5e-300])
def test_hex_literal_round_trips_bits(x):
    lit = c_double(x)
    assert float.fromhex(lit) == x
    assert struct.pack("<d", float.fromhex(lit)) == struct.pack("<d", x)


def test_non_finite_literals_use_macros():
    assert c_double(math.inf) == "SM_INF"
    assert c_double(-math.inf) == "(-SM_INF)"
    assert c_double(math.nan) == "SM_NAN"


def test_c_string_escapes_quotes_backslashes_trigraphs_and_utf8():
    assert c_string('a"b\\c??=') == '"a\\"b\\\\c\\?\\?="'
    assert c_string("é") == '"\\303\\251"'


def test_identifiers_are_valid_and_unique():
    taken: set[str] = set()
    names = [c_identifier(n, taken) for n in ["age", "age!", "2nd", "int", "a b", "age_"]]
    assert names == ["age", "age_", "c_2nd", "int_", "a_b", "age__2"]


def test_empty_array_is_still_valid_c():
    assert "[1] = {" in c_array("double", "t", [])
