import unittest

from durations import parse_duration


class ParseDurationTest(unittest.TestCase):
    def test_all_units(self):
        self.assertEqual(parse_duration("1d2h3m4s"), 93784)
        self.assertEqual(parse_duration("90s"), 90)
        self.assertEqual(parse_duration("2d"), 172800)

    def test_old_forms(self):
        self.assertEqual(parse_duration("1h30m"), 5400)
        self.assertEqual(parse_duration("45m"), 2700)

    def test_spaces_between_parts(self):
        self.assertEqual(parse_duration("1h 30m"), 5400)
        self.assertEqual(parse_duration("1d 1s"), 86401)

    def test_rejects(self):
        for bad in ("", "10", "1x", "h1", "1h30", "abc", "1h-5m"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                parse_duration(bad)
