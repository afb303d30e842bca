"""The tester's written files as a diff that git applies to the base, byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bdg_tester.sandbox.file_patch import file_patch, files_patch

GIT = ["git", "-c", "core.autocrlf=false"]


def applied(tmp: Path, before: dict[str, str], patch: str) -> dict[str, str]:
    """``before`` written to a directory, ``patch`` applied there by git; every file after."""
    for path, text in before.items():
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / path).write_bytes(text.encode())
    subprocess.run([*GIT, "init", "-q", str(tmp)], check=True)
    done = subprocess.run(
        [*GIT, "-C", str(tmp), "apply", "--whitespace=nowarn", "-"],
        input=patch.encode(),
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode() + "\n" + patch
    return {
        str(p.relative_to(tmp)): p.read_bytes().decode()
        for p in sorted(tmp.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def test_new_files_and_an_edited_manifest_apply_to_the_base(tmp_path: Path) -> None:
    base = {"package.json": '{"name": "a"}', "src/a.js": "export const a = 1;\n"}
    after = {
        "package.json": '{\n  "name": "a",\n  "scripts": {"test": "vitest run"}\n}\n',
        "src/a.test.js": "import { a } from './a.js';\n",
    }
    patch = files_patch({p: (base.get(p), text) for p, text in after.items()})
    assert "new file mode 100644\n--- /dev/null\n+++ b/src/a.test.js\n" in patch
    assert '-{"name": "a"}\n\\ No newline at end of file\n' in patch
    assert applied(tmp_path, base, patch) == {**base, **after}


def test_an_unchanged_file_gives_no_diff() -> None:
    assert file_patch("a.py", "x = 1\n", "x = 1\n") == ""
    assert files_patch({}) == ""


def test_an_empty_new_file_is_created(tmp_path: Path) -> None:
    patch = files_patch({"tests/__init__.py": (None, "")})
    assert applied(tmp_path, {}, patch) == {"tests/__init__.py": ""}


TEXT = st.lists(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12), max_size=8
).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(old=st.one_of(st.none(), TEXT), new=TEXT)
def test_any_old_and_new_text_round_trip_through_git_apply(
    tmp_path_factory: pytest.TempPathFactory, old: str | None, new: str
) -> None:
    tmp = tmp_path_factory.mktemp("apply")
    before = {} if old is None else {"f.txt": old}
    patch = files_patch({"f.txt": (old, new)})
    if not patch:
        assert old == new
        return
    assert applied(tmp, before, patch) == {"f.txt": new}
