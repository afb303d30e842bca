"""The client error beacon of a site a cloud provider serves: its key, its script, its input."""
