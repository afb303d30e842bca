"""Benchmarks: each prints its figures beside the raw limit measured in the same run.

Bytecode is cached whatever the machine says: with ``PYTHONDONTWRITEBYTECODE`` set (some
machines set it for every process) each service a bench starts compiled every module it imports
while being measured, on every run (bench.job_create's first p99 was 443 ms, the next ones
280-354). The services inherit the environment, so clearing it here covers them all.
"""

import os
import sys

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
