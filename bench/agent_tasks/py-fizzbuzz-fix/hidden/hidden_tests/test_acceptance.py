import unittest

from fizzbuzz import fizzbuzz, sequence


class FizzBuzzTest(unittest.TestCase):
    def test_multiples_of_fifteen(self):
        for n in (15, 30, 45, 90):
            self.assertEqual(fizzbuzz(n), "FizzBuzz", n)

    def test_others_unchanged(self):
        self.assertEqual(fizzbuzz(3), "Fizz")
        self.assertEqual(fizzbuzz(25), "Buzz")
        self.assertEqual(fizzbuzz(11), "11")

    def test_sequence(self):
        self.assertEqual(sequence(15)[-1], "FizzBuzz")
        self.assertEqual(sequence(5), ["1", "2", "Fizz", "4", "Buzz"])
