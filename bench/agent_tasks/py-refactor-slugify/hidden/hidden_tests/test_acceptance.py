import pathlib
import unittest

from posts import post_url
from tags import tag_url
from text import slugify


class RefactorTest(unittest.TestCase):
    def test_slugify(self):
        self.assertEqual(slugify("Hello, World!"), "hello-world")
        self.assertEqual(slugify("--A  b--"), "a-b")
        self.assertEqual(slugify(""), "")

    def test_links_unchanged(self):
        self.assertEqual(post_url("Hello, World!"), "/posts/hello-world")
        self.assertEqual(tag_url("  Python 3 "), "/tags/python-3")
        self.assertEqual(post_url("??"), "/posts/")

    def test_the_code_is_not_repeated(self):
        for name in ("posts.py", "tags.py"):
            source = pathlib.Path(name).read_text()
            self.assertIn("slugify", source, name)
            self.assertNotIn("findall", source, name)
