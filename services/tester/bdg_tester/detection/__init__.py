"""Which projects a workspace holds, and how to install and test each: rules over its files."""
