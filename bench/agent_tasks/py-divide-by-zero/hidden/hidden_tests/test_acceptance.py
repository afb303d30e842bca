import unittest

from calc.ops import divide


class DivideTest(unittest.TestCase):
    def test_zero_is_a_value_error(self):
        for zero in (0, 0.0):
            with self.assertRaises(ValueError) as raised:
                divide(1, zero)
            self.assertEqual(str(raised.exception), "cannot divide by zero")
            self.assertNotIsInstance(raised.exception, ZeroDivisionError)

    def test_division_unchanged(self):
        self.assertEqual(divide(6, 3), 2)
        self.assertEqual(divide(-1, 4), -0.25)
        self.assertEqual(divide(0, 5), 0)
