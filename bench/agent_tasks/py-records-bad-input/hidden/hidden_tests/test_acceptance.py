import unittest

from records import parse


class BadInputTest(unittest.TestCase):
    def test_missing_columns_are_named(self):
        with self.assertRaises(ValueError) as caught:
            parse("name\nAda\n")
        message = str(caught.exception)
        self.assertIn("age", message)
        self.assertIn("email", message)
        self.assertNotIn("name,", message)

    def test_one_missing_column(self):
        with self.assertRaises(ValueError) as caught:
            parse("name,email\nAda,ada@example.com\n")
        self.assertIn("age", str(caught.exception))

    def test_bad_age_names_line_and_value(self):
        text = "name,email,age\nAda,ada@example.com,36\nBob,bob@example.com,abc\n"
        with self.assertRaises(ValueError) as caught:
            parse(text)
        message = str(caught.exception)
        self.assertIn("line 3", message)
        self.assertIn("'abc'", message)

    def test_valid_input_unchanged(self):
        rows = parse("age,name,email\n7,Eve,eve@example.com\n")
        self.assertEqual(rows, [{"name": "Eve", "email": "eve@example.com", "age": 7}])
        self.assertEqual(parse("name,email,age\n"), [])
