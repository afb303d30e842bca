import unittest

from cart import total
from money import tax, to_cents


class CartTest(unittest.TestCase):
    def test_one_decimal_digit(self):
        self.assertEqual(to_cents("12.5"), 1250)
        self.assertEqual(to_cents("0.5"), 50)
        self.assertEqual(to_cents("12.05"), 1205)
        self.assertEqual(to_cents("7"), 700)

    def test_tax_rounds_half_up(self):
        self.assertEqual(tax(1010, 5), 51)
        self.assertEqual(tax(505, 10), 51)
        self.assertEqual(tax(1250, 8), 100)
        self.assertEqual(tax(1004, 5), 50)

    def test_totals(self):
        self.assertEqual(total([("12.5", 1)], 8), 1350)
        self.assertEqual(total([("10", 2), ("3", 1)], 0), 2300)
        self.assertEqual(total([("0.5", 3), ("1.25", 4)], 10), 715)
