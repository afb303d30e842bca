"""A day in a query string: ``YYYY-MM-DD`` only.

pydantic's lax date parsing also takes a number as a Unix time (``to=0`` is 1970-01-01), which
the OpenAPI document (``format: date``) does not allow; such a value is a 422 here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("a day as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_only)]
