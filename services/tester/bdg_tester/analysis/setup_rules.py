"""Rules for what keeps tests from running: dependencies that do not install, code that does
not compile, modules that cannot be imported, tests that are not found."""

from __future__ import annotations

from bdg_tester.analysis.causes import Cause, Diagnosis, search

_NOT_CODE = "Dependency problem, not a code problem: "


def dependency(text: str, _: str) -> Diagnosis | None:
    if m := search(r"^npm (?:ERR!|error) code (E[A-Z0-9]+)", text):
        code = m.group(1)
        peer = search(r"^npm (?:ERR!|error) (peer .+)$", text)
        if code == "ERESOLVE":
            conflict = f" ({peer.group(1)})" if peer else ""
            hint = f"npm cannot satisfy the peer dependencies{conflict}: align the versions in "
            return Diagnosis(Cause.dependency, code, _NOT_CODE + hint + "package.json.")
        hint = f"npm failed with {code}: check the package names and versions in package.json."
        return Diagnosis(Cause.dependency, code, _NOT_CODE + hint)
    if m := search(r"ERR_PNPM_\w+|^error (?:Couldn't find package|An unexpected error).*", text):
        return Diagnosis(Cause.dependency, m.group(0)[:60], _NOT_CODE + m.group(0)[:200])
    if m := search(r"No matching distribution found for (\S+)", text):
        hint = f"no published version matches `{m.group(1)}`: fix that requirement's pin."
        return Diagnosis(Cause.dependency, m.group(1), _NOT_CODE + hint)
    if m := search(r"Cannot install (.+?) because these package versions have conflicting", text):
        hint = f"conflicting pins ({m.group(1)}): loosen one of them."
        cause = search(r"^\s+(\S+ \S+ depends on .+)$", text)
        hint += f" pip says: {cause.group(1)}." if cause else ""
        return Diagnosis(Cause.dependency, "conflict", _NOT_CODE + hint)
    if search(r"ResolutionImpossible|No solution found when resolving|SolverProblemError", text):
        return Diagnosis(
            Cause.dependency,
            "conflict",
            _NOT_CODE + "the resolver found no set of "
            "versions satisfying every requirement: loosen a pin.",
        )
    if m := search(
        r"Could not (?:resolve dependencies for project|transfer artifact|resolve all \w+ for)"
        r"|Non-resolvable parent POM|Plugin \S+ or one of its dependencies could not be resolved"
        r"|failed to select a version for|no matching package named `[^`]+`"
        r"|missing go\.sum entry|unknown revision",
        text,
    ):
        return Diagnosis(Cause.dependency, "resolution", _NOT_CODE + m.group(0) + ".")
    return None


def network(text: str, _: str) -> Diagnosis | None:
    """Only for an install's output: inside a test, a refused connection is the test's own."""
    if search(
        r"Name or service not known|Temporary failure in name resolution|getaddrinfo ENOTFOUND"
        r"|ECONNREFUSED|ETIMEDOUT|Unknown host|Could not resolve host|No route to host",
        text,
    ):
        return Diagnosis(
            Cause.dependency,
            "network",
            _NOT_CODE + "the package registry was unreachable from the sandbox; retry the install.",
        )
    return None


def build(text: str, _: str) -> Diagnosis | None:
    if m := search(r"\b(SyntaxError|IndentationError|TabError): (.+)$", text):
        if "JSON" in m.group(2) or search(r"at JSON\.parse", text):
            return None  # parsing bad JSON at run time is an exception, not a syntax error
        hint = f"{m.group(1)} ({m.group(2).strip()}): fix it first, nothing in that file runs."
        return Diagnosis(Cause.build, m.group(1), hint)
    if m := search(r"error (TS\d+): (.+)$", text):
        return Diagnosis(Cause.build, m.group(1), f"TypeScript {m.group(1)}: {m.group(2)}")
    if m := search(r"^error\[(E\d+)\]: (.+)$", text):
        return Diagnosis(Cause.build, m.group(1), f"Does not compile ({m.group(1)}): {m.group(2)}")
    if m := search(r"\.(?:java|kt):(?:\[\d+,\d+\]|\d+:)(?: error:)? (.+)$|COMPILATION ERR", text):
        detail = m.group(1) or "see the compiler output"
        return Diagnosis(Cause.build, "javac", f"Does not compile: {detail}")
    go = search(r"\.go:\d+:\d+: (.+)$", text)
    if go or search(r"\[build failed\]|^# [\w.-]+/[\w./-]+", text):
        detail = go.group(1) if go else "see the compiler output"
        return Diagnosis(Cause.build, "go", f"The Go package does not build: {detail}")
    return None


# import name -> distribution name, where they differ
_DISTRIBUTIONS = {
    "yaml": "PyYAML",
    "cv2": "opencv-python",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "jwt": "PyJWT",
    "Crypto": "pycryptodome",
    "magic": "python-magic",
    "serial": "pyserial",
    "OpenSSL": "pyOpenSSL",
    "attr": "attrs",
    "google": "protobuf (or the google-* package)",
}


def imports(text: str, _: str) -> Diagnosis | None:
    if m := search(r"(?:(?:ModuleNotFoundError|ImportError): )?No module named '([\w.]+)'", text):
        module = m.group(1)
        top = module.split(".")[0]
        dist = _DISTRIBUTIONS.get(top)
        package = f" (the package is `{dist}`)" if dist else ""
        hint = (
            f"`{module}` cannot be imported: if it is a third-party package add it{package} "
            "to the project's dependencies; if it is the project's own module, fix the import "
            "path or make the package importable (installed, or on pythonpath)."
        )
        return Diagnosis(Cause.import_error, top, hint)
    if m := search(r"ImportError: cannot import name '(\w+)' from '([\w.]+)'", text):
        name, module = m.groups()
        hint = (
            f"`{module}` has no `{name}`: it was renamed or moved (update the import), or "
            "the two modules import each other (a circular import)."
        )
        return Diagnosis(Cause.import_error, f"{module}.{name}", hint)
    if m := search(
        r"Cannot find (?:module|package) '([^']+)'|Failed to resolve import \"([^\"]+)\""
        r"|Module not found: (?:Error: )?Can't resolve '([^']+)'",
        text,
    ):
        spec = next(g for g in m.groups() if g)
        if spec.startswith((".", "/")):
            hint = (
                f"`{spec}` does not exist where the import points: create the file or fix "
                "the relative path (extension, directory, case)."
            )
        else:
            hint = (
                f"package `{spec}` is not installed: add it to package.json dependencies, "
                "or fix the name."
            )
        return Diagnosis(Cause.import_error, spec, hint)
    if m := search(
        r"no required module provides package (\S+)|cannot find package \"(\S+)\"", text
    ):
        spec = next(g for g in m.groups() if g).rstrip(";")
        return Diagnosis(
            Cause.import_error, spec, f"Go package `{spec}`: `go get` it or fix the import path."
        )
    return None


_DISCOVERY = (
    r"no tests ran|collected 0 items|No tests found|No test files found|\[no test files\]"
    r"|^running 0 tests|^\s*0 passing|Tests run: 0,|No tests found for given includes"
)


def discovery(text: str, _: str) -> Diagnosis | None:
    if not search(_DISCOVERY, text):
        return None
    return Diagnosis(Cause.discovery, "", discovery_hint(text))


def discovery_hint(text: str) -> str:
    framework = next(
        (hint for pattern, hint in _DISCOVERY_HINTS if search(pattern, text)),
        "check that test files follow the runner's naming rules and lie under the project root.",
    )
    return "The runner found no tests: " + framework


_DISCOVERY_HINTS = [
    (
        r"pytest|collected|no tests ran",
        "pytest collects test_*.py / *_test.py files, test_* "
        "functions and Test* classes (without __init__); check testpaths/python_files settings.",
    ),
    (
        r"vitest|No test files found",
        "vitest's default include is **/*.{test,spec}.?(c|m)[jt]s?(x);"
        " check `include`/`exclude` in the vitest config.",
    ),
    (
        r"jest|testMatch",
        "jest looks for __tests__/ and *.test.* / *.spec.* files; check `testMatch`"
        ", `roots` and `testPathIgnorePatterns`.",
    ),
    (r"no test files", "Go runs *_test.go files with func TestXxx(t *testing.T)."),
    (r"running 0 tests", "cargo runs #[test] functions (in a #[cfg(test)] module or tests/*.rs)."),
]
