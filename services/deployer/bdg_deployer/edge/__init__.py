"""The edge: the local provider's web server, its own process (``python -m bdg_deployer.edge``).

Inside the deployer package because the deployer and the edge must agree byte for byte on two
things, the artifact store's layout and the route table: one module each, imported by both.
The deployer writes the route table; the edge only reads it and counts.
"""
