"""The read side of sites: the API's JSON folded from a site's events (``views``), the
``sites`` read model (``projection``), listings and one-click promote and rollback (``reads``)."""
