from cart import total


def test_whole_prices_without_tax() -> None:
    assert total([("10", 2), ("3", 1)], 0) == 2300


def test_two_decimals_with_tax() -> None:
    assert total([("10.00", 1)], 10) == 1100
