import unittest

from textstats.counts import word_counts


class IgnoreCaseTest(unittest.TestCase):
    def test_ignore_case_merges_words(self):
        counts = word_counts("The cat saw THE dog. the Cat!", ignore_case=True)
        self.assertEqual(counts, {"the": 3, "cat": 2, "saw": 1, "dog": 1})

    def test_default_keeps_case(self):
        self.assertEqual(word_counts("Cat cat CAT"), {"Cat": 1, "cat": 1, "CAT": 1})

    def test_false_keeps_case(self):
        self.assertEqual(word_counts("Aa aa", ignore_case=False), {"Aa": 1, "aa": 1})

    def test_empty(self):
        self.assertEqual(word_counts("", ignore_case=True), {})
