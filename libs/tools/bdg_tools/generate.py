"""Writes ``libs/tools/tools.json``: the built-in tools in the OpenAI function-calling format.

    uv run python -m bdg_tools.generate          # write it
    uv run python -m bdg_tools.generate --check  # exit 1 when the checked-in file is stale

Every built-in tool is listed, conditional ones too (deploy): which are offered is decided at
run time (``ToolRegistry.offered``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bdg_tools.catalog import BUILTIN

TOOLS_JSON = Path(__file__).resolve().parents[1] / "tools.json"


def render() -> str:
    tools = [
        {
            "type": "function",
            "function": {
                "name": d.name,
                "description": d.description,
                "parameters": d.parameters,
                "strict": d.strict,
            },
        }
        for d in (tool.declaration() for tool in BUILTIN)
    ]
    return json.dumps(tools, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bdg_tools.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    parser.add_argument("--out", type=Path, default=TOOLS_JSON)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(
                f"{args.out} is stale: run `uv run python -m bdg_tools.generate`", file=sys.stderr
            )
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(BUILTIN)} tools to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
