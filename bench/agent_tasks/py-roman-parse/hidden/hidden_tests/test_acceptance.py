import unittest

from roman import from_roman, to_roman


class FromRomanTest(unittest.TestCase):
    def test_examples(self):
        self.assertEqual(from_roman("MCMXCIV"), 1994)
        self.assertEqual(from_roman("XLII"), 42)
        self.assertEqual(from_roman("MMMCMXCIX"), 3999)
        self.assertEqual(from_roman("I"), 1)

    def test_lowercase(self):
        self.assertEqual(from_roman("xiv"), 14)

    def test_round_trip(self):
        for n in range(1, 4000):
            self.assertEqual(from_roman(to_roman(n)), n)

    def test_rejects_empty_and_foreign_characters(self):
        for bad in ("", "ABC", "X1", "M M"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                from_roman(bad)

    def test_rejects_non_standard_forms(self):
        for bad in ("IIII", "IC", "VX", "MMMM", "XXXX", "VV", "IM"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                from_roman(bad)
