"""Building a site: what builds it (``detect``), and running that in sandboxd (``sandboxed``)."""
