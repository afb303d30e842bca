"""A generated repository of realistic shape for indexing benchmarks: Python modules (classes,
methods, docstrings), JavaScript modules (imports, classes, handlers) and Markdown docs
(headings, prose, code blocks), 60/30/10 by count, 40-250 lines each. Seeded: the same files
every run."""

from __future__ import annotations

import random
from pathlib import Path

NOUNS = [
    "invoice",
    "order",
    "cart",
    "session",
    "token",
    "cache",
    "report",
    "user",
    "account",
    "payment",
    "refund",
    "shipment",
    "address",
    "product",
    "price",
    "discount",
    "coupon",
    "review",
    "rating",
    "message",
    "thread",
    "upload",
    "image",
    "queue",
    "job",
    "worker",
    "schedule",
    "event",
    "webhook",
    "audit",
    "ledger",
    "budget",
    "tenant",
    "project",
    "repository",
    "branch",
]
VERBS = [
    "load",
    "save",
    "parse",
    "render",
    "validate",
    "compute",
    "fetch",
    "send",
    "retry",
    "merge",
    "split",
    "apply",
    "cancel",
    "refresh",
    "export",
    "import",
    "sync",
    "resolve",
    "schedule",
    "notify",
    "archive",
    "restore",
    "encode",
    "decode",
]
WORDS = [
    "the",
    "a",
    "this",
    "each",
    "when",
    "if",
    "then",
    "returns",
    "raises",
    "keeps",
    "stores",
    "reads",
    "writes",
    "every",
    "one",
    "new",
    "old",
    "value",
    "list",
    "map",
    "key",
    "request",
    "response",
    "error",
    "state",
    "config",
    "setting",
    "default",
    "limit",
    "timeout",
]


def _name(rng: random.Random, parts: int = 2) -> str:
    return "_".join([rng.choice(VERBS), *rng.sample(NOUNS, parts - 1)])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _sentence(rng: random.Random, n: int = 10) -> str:
    return " ".join(rng.choice(WORDS + NOUNS) for _ in range(n)).capitalize() + "."


def _py_function(rng: random.Random, indent: str = "", method: bool = False) -> list[str]:
    name, arg = _name(rng), rng.choice(NOUNS)
    args = f"self, {arg}" if method else f"{arg}, *, timeout=30"
    body = [
        f"{indent}def {name}({args}):",
        f'{indent}    """{_sentence(rng, 8)}"""',
        f"{indent}    if {arg} is None:",
        f'{indent}        raise ValueError("{arg} is required")',
    ]
    for _ in range(rng.randint(2, 9)):
        other = rng.choice(NOUNS)
        body.append(
            f"{indent}    {other} = {rng.choice(VERBS)}_{other}({arg}, limit={rng.randint(1, 99)})"
        )
    body.append(f"{indent}    return {arg}")
    return [*body, ""]


def python_file(rng: random.Random) -> str:
    lines = [f'"""{_sentence(rng, 12)}"""', "", "from __future__ import annotations", ""]
    lines += [f"import {m}" for m in rng.sample(["json", "logging", "time", "uuid", "re"], 3)]
    lines += ["", f"LIMIT = {rng.randint(10, 500)}", ""]
    for _ in range(rng.randint(1, 3)):
        lines += [f"class {_camel(_name(rng)).title()}:", f'    """{_sentence(rng)}"""', ""]
        for _ in range(rng.randint(2, 6)):
            lines += _py_function(rng, "    ", method=True)
    for _ in range(rng.randint(1, 5)):
        lines += _py_function(rng)
    return "\n".join(lines) + "\n"


def js_file(rng: random.Random) -> str:
    lines = [f"import {{ {_camel(_name(rng))} }} from './{rng.choice(NOUNS)}.js';", ""]
    for _ in range(rng.randint(2, 6)):
        name, arg = _camel(_name(rng)), rng.choice(NOUNS)
        lines += [f"// {_sentence(rng, 9)}", f"export function {name}({arg}, options = {{}}) {{"]
        lines += [f"  if (!{arg}) throw new Error('{arg} is required');"]
        for _ in range(rng.randint(2, 8)):
            other = rng.choice(NOUNS)
            lines.append(f"  const {other} = await {_camel(_name(rng))}({arg}.{other}, options);")
        lines += [f"  return {arg};", "}", ""]
    cls = _camel(_name(rng)).title().replace("_", "")
    lines += [f"export class {cls} {{", "  constructor(store) {", "    this.store = store;", "  }"]
    for _ in range(rng.randint(1, 4)):
        lines += [f"  {_camel(_name(rng))}(event) {{", "    this.store.dispatch(event);", "  }"]
    return "\n".join([*lines, "}", ""])


def markdown_file(rng: random.Random) -> str:
    lines = [f"# {rng.choice(NOUNS).title()} {rng.choice(NOUNS)}", ""]
    for _ in range(rng.randint(2, 6)):
        lines += [f"## {_sentence(rng, 4)[:-1]}", "", _sentence(rng, 25), _sentence(rng, 18), ""]
        if rng.random() < 0.5:
            lines += ["```python", *_py_function(rng), "```", ""]
        lines += [f"- {_sentence(rng, 6)}" for _ in range(rng.randint(0, 4))] + [""]
    return "\n".join(lines)


def generate(root: Path, count: int, seed: int = 7) -> dict[str, str]:
    """Write ``count`` files under ``root``; path -> text."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    for n in range(count):
        kind = n % 10
        if kind < 6:
            path, text = f"src/{rng.choice(NOUNS)}/{_name(rng)}_{n}.py", python_file(rng)
        elif kind < 9:
            path, text = f"web/{rng.choice(NOUNS)}/{_camel(_name(rng))}{n}.js", js_file(rng)
        else:
            path, text = f"docs/{rng.choice(NOUNS)}-{n}.md", markdown_file(rng)
        files[path] = text
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return files


def modify(root: Path, seed: int = 11) -> tuple[str, str]:
    """One Python file with a function added: (path, new text)."""
    rng = random.Random(seed)
    path = sorted(p for p in root.rglob("*.py"))[0]
    text = path.read_text() + "\n" + "\n".join(_py_function(rng))
    return path.relative_to(root).as_posix(), text
