import pytest
from roman import to_roman


def test_small():
    assert to_roman(4) == "IV"
    assert to_roman(9) == "IX"


def test_year():
    assert to_roman(1994) == "MCMXCIV"


def test_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        to_roman(0)
