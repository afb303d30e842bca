"""What a failure's text says went wrong: a cause, a key to group by, and a fix hint.

Rules are tried in order, most specific first; each reads a message + trace (or an output tail)
and returns a Diagnosis or None. Pure string work, so an analysis replays identically.
"""

from __future__ import annotations

from bdg_tester.analysis.causes import Cause, Diagnosis, Rule
from bdg_tester.analysis.failure_rules import assertion, exception, signature, timeout
from bdg_tester.analysis.setup_rules import build, dependency, discovery, imports, network

__all__ = ["INSTALL_RULES", "RULES", "RUN_RULES", "Cause", "Diagnosis", "Rule", "diagnose"]

# for a test's own message and trace
RULES: tuple[Rule, ...] = (dependency, build, imports, timeout, signature, assertion, exception)
# for output outside any test: a run that left no readable report
RUN_RULES: tuple[Rule, ...] = (dependency, build, imports, discovery, timeout)
# for an install's output (only there is a network error the environment's fault)
INSTALL_RULES: tuple[Rule, ...] = (dependency, build, network)


def diagnose(text: str, error_type: str = "", rules: tuple[Rule, ...] = RULES) -> Diagnosis:
    for rule in rules:
        found = rule(text, error_type)
        if found is not None:
            return found
    return Diagnosis(Cause.unknown, "", "No common pattern matched: read the message and trace.")
