from fizzbuzz import fizzbuzz, sequence


def test_three():
    assert fizzbuzz(9) == "Fizz"


def test_five():
    assert fizzbuzz(10) == "Buzz"


def test_plain():
    assert fizzbuzz(7) == "7"


def test_sequence_starts_plain():
    assert sequence(2) == ["1", "2"]


def test_fifteen():
    assert fizzbuzz(15) == "FizzBuzz"
