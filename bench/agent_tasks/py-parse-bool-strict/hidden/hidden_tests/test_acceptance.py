import unittest

from flags import flag, parse_bool


class ParseBoolTest(unittest.TestCase):
    def test_true_words(self):
        for text in ("yes", "true", "on", "1", "YES", "True", " On ", "\t1\n"):
            self.assertIs(parse_bool(text), True, text)

    def test_false_words(self):
        for text in ("no", "false", "off", "0", "NO", "False", " off ", "0\n"):
            self.assertIs(parse_bool(text), False, text)

    def test_anything_else_is_refused(self):
        for bad in ("", "   ", "maybe", "2", "y es", "yess", "nope", "10", "none", "-1"):
            with self.assertRaises(ValueError, msg=repr(bad)) as caught:
                parse_bool(bad)
            if bad.strip():  # named: a blank text has nothing to show
                self.assertIn(bad.strip(), str(caught.exception))

    def test_flag_still_works(self):
        self.assertIs(flag({}, "debug"), False)
        self.assertIs(flag({}, "debug", True), True)
        self.assertIs(flag({"debug": "on"}, "debug"), True)
        self.assertIs(flag({"debug": "0"}, "debug"), False)
