import os
import unittest

from config import load


class PortTest(unittest.TestCase):
    def setUp(self):
        self.saved = os.environ.get("PORT")

    def tearDown(self):
        if self.saved is None:
            os.environ.pop("PORT", None)
        else:
            os.environ["PORT"] = self.saved

    def test_default(self):
        os.environ.pop("PORT", None)
        self.assertEqual(load()["port"], 8000)
        os.environ["PORT"] = ""
        self.assertEqual(load()["port"], 8000)

    def test_given(self):
        os.environ["PORT"] = "9090"
        self.assertEqual(load()["port"], 9090)
        self.assertEqual(load()["host"], os.environ.get("HOST", "127.0.0.1"))

    def test_bad_values(self):
        for bad in ("abc", "0", "65536", "-1", "80.5"):
            os.environ["PORT"] = bad
            with self.assertRaises(ValueError, msg=bad) as caught:
                load()
            self.assertIn("PORT", str(caught.exception))
            self.assertIn(bad, str(caught.exception))
