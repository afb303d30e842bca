"""Post links."""

import re


def post_url(title: str) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))
    return f"/posts/{slug}"
