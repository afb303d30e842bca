"""Tag links."""

import re


def tag_url(name: str) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", name.lower()))
    return f"/tags/{slug}"
