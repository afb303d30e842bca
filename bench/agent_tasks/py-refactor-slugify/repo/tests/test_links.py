from posts import post_url
from tags import tag_url


def test_links() -> None:
    assert post_url("Hello, World!") == "/posts/hello-world"
    assert tag_url("  Python 3 ") == "/tags/python-3"
