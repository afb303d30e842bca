import contextlib
import io
import pathlib
import sys
import unittest

from sortlines import main, sort_lines


def run(argv, text):
    out, stdin = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        with contextlib.redirect_stdout(out):
            code = main(argv)
    finally:
        sys.stdin = stdin
    return code, out.getvalue().splitlines()


class ReverseTest(unittest.TestCase):
    def test_sort_lines(self):
        self.assertEqual(sort_lines(["b", "a", "c"], reverse=True), ["c", "b", "a"])
        self.assertEqual(
            sort_lines(["9", "100", "10"], numeric=True, reverse=True), ["100", "10", "9"]
        )
        self.assertEqual(sort_lines(["b", "a"]), ["a", "b"])

    def test_flag(self):
        self.assertEqual(run(["--reverse"], "b\na\nc\n"), (0, ["c", "b", "a"]))
        self.assertEqual(run(["--reverse", "--numeric"], "9\n100\n10\n"), (0, ["100", "10", "9"]))
        self.assertEqual(run([], "b\na\n"), (0, ["a", "b"]))

    def test_a_test_was_added(self):
        self.assertIn("reverse", pathlib.Path("tests/test_sortlines.py").read_text())
