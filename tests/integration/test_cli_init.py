"""`bdg init --template agent-starter DIR`: the template copied and committed by the bot, no
hooks run, a non-empty DIR refused; and the template's own tests pass (npm ci && npm test)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bdg_cli.init import TEMPLATES
from bdg_cli.main import app

pytestmark = pytest.mark.timeout(60)
STARTER = TEMPLATES / "agent-starter"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def bdg_init(dest: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["init", "--template", "agent-starter", str(dest), *extra], env=env
    )
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_init_commits_the_template_as_the_bot(tmp_path: Path) -> None:
    dest = tmp_path / "my-app"
    code, output = bdg_init(dest)
    assert code == 0, output
    assert git(dest, "log", "--format=%an <%ae>|%s") == (
        "BigDaddyG bot <bot@bigdaddyg.invalid>|Start from agent-starter"
    )
    assert git(dest, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(dest, "status", "--porcelain") == ""
    committed = set(git(dest, "ls-files").splitlines())
    expected = {
        str(p.relative_to(STARTER)) for p in STARTER.rglob("*") if p.is_file()
        and not {"node_modules", "dist"} & set(p.relative_to(STARTER).parts)
    }  # fmt: skip
    assert committed == expected
    assert {"package-lock.json", "vercel.json", "bdg.deploy.json", "src/App.test.tsx"} <= committed
    assert git(dest, "rev-parse", "HEAD")[:12] in output


def test_no_hook_runs_and_user_config_is_ignored(tmp_path: Path) -> None:
    """A global hooks path whose pre-commit hook fails, and a global template dir with one:
    the commit is made anyway, by the bot."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    witness = tmp_path / "hook-ran"
    hook = hooks / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {witness}\nexit 1\n")
    hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(
        f"[core]\n\thooksPath = {hooks}\n[user]\n\tname = Someone\n\temail = s@example.com\n"
        "[commit]\n\tgpgsign = true\n"
    )
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(config)}
    code, output = bdg_init(tmp_path / "app", env=env)
    assert code == 0, output
    assert not witness.exists()
    assert git(tmp_path / "app", "log", "--format=%an") == "BigDaddyG bot"


@pytest.mark.parametrize("kind", ["a file inside", "a hidden file inside", "a file at DIR"])
def test_a_non_empty_dir_is_refused_and_left_alone(tmp_path: Path, kind: str) -> None:
    dest = tmp_path / "taken"
    if kind == "a file at DIR":
        dest.write_text("mine\n")
    else:
        dest.mkdir()
        (dest / (".env" if "hidden" in kind else "notes.txt")).write_text("mine\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, output = bdg_init(dest)
    assert code == 2
    assert "DIR" in output
    assert str(dest) in output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_an_empty_dir_is_filled_and_an_unknown_template_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert bdg_init(tmp_path / "empty")[0] == 0
    result = CliRunner().invoke(app, ["init", "--template", "nope", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--template 'nope' is unknown" in result.output
    assert "agent-starter" in result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.npm_registry
@pytest.mark.timeout(600)
def test_the_templates_own_tests_pass(tmp_path: Path) -> None:
    """npm ci from the committed lock file, then vitest: what the agent's tester runs."""
    dest = tmp_path / "app"
    assert bdg_init(dest)[0] == 0
    npm = shutil.which("npm")
    assert npm is not None
    for step in (["ci", "--no-audit", "--no-fund"], ["test"]):
        done = subprocess.run(
            [npm, *step], cwd=dest, capture_output=True, text=True, timeout=540, check=False
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "5 passed" in done.stdout
