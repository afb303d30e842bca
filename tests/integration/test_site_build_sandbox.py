"""A site's build in a real sandboxd: a static folder, an npm build script, a failing build with
its output, and a library that is no site."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.build.sandboxed import BuildOutcome, SandboxBuilder, Source
from bdg_sandbox.client import SandboxClient
from tests.git_repos import make_repo
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(180)
TENANT = "deploy-it"
BUILD_JS = """\
const fs = require("fs");
fs.mkdirSync("dist/assets", { recursive: true });
fs.writeFileSync("dist/index.html", "<h1>built " + (1 + 1) + "</h1>");
fs.writeFileSync("dist/assets/app.js", "console.log('hi')");
console.log("built 2 files");
"""


@pytest.fixture(name="root", scope="module")
def root_fixture() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bdg-deployer-repos-"))
    root.chmod(0o755)  # the sandbox user reads the repositories
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="sandbox", scope="module")
async def sandbox_fixture(root: Path) -> AsyncIterator[SandboxClient]:
    daemon: Daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{root}"]')
    daemon.grant({TENANT: [root]})
    client = daemon.client()
    yield client
    await client.close()
    daemon.stop()
    daemon.remove()


def repo(root: Path, name: str, files: dict[str, str]) -> Source:
    make_repo(root / name, files)
    return Source(str(root / name), "HEAD")


async def build(sandbox: SandboxClient, source: Source, into: Path) -> BuildOutcome:
    return await SandboxBuilder(sandbox).build(TENANT, source, into)


async def test_a_static_folder_is_copied_out_whole(
    sandbox: SandboxClient, root: Path, tmp_path: Path
) -> None:
    files = {"public/index.html": "<h1>hi</h1>", "public/css/a.css": "h1{}", "README.md": "x"}
    outcome = await SandboxBuilder(sandbox).build(
        TENANT, repo(root, "static", files), tmp_path / "o"
    )
    assert outcome.plan is not None
    assert outcome.plan.command == "static:public"
    assert outcome.folder is not None
    assert sorted(
        p.relative_to(outcome.folder).as_posix() for p in outcome.folder.rglob("*.*")
    ) == [
        "css/a.css",
        "index.html",
    ]
    manifest = ArtifactStore(tmp_path / "store").put(outcome.folder)
    assert set(manifest.files) == {"index.html", "css/a.css"}


async def test_an_npm_build_script_runs_in_the_sandbox(
    sandbox: SandboxClient, root: Path, tmp_path: Path
) -> None:
    files = {
        "package.json": json.dumps({"name": "s", "scripts": {"build": "node build.js"}}),
        "build.js": BUILD_JS,
        "src/index.html": "<h1>source, not the site</h1>",
    }
    outcome = await build(sandbox, repo(root, "npm", files), tmp_path / "o")
    assert outcome.folder is not None, outcome.output
    assert (outcome.folder / "index.html").read_text() == "<h1>built 2</h1>"
    assert (outcome.folder / "assets" / "app.js").exists()
    assert "built 2 files" in outcome.output


async def test_a_failing_build_gives_its_output(
    sandbox: SandboxClient, root: Path, tmp_path: Path
) -> None:
    script = "node -e \"console.error('Cannot find module vite'); process.exit(3)\""
    files = {"package.json": json.dumps({"name": "f", "scripts": {"build": script}})}
    outcome = await SandboxBuilder(sandbox).build(
        TENANT, repo(root, "fails", files), tmp_path / "o"
    )
    assert outcome.folder is None
    assert "Cannot find module vite" in outcome.output
    assert "$ npm run build" in outcome.output


async def test_a_build_that_writes_no_site_says_where_it_looked(
    sandbox: SandboxClient, root: Path, tmp_path: Path
) -> None:
    files = {"package.json": json.dumps({"name": "n", "scripts": {"build": "echo nothing"}})}
    outcome = await SandboxBuilder(sandbox).build(
        TENANT, repo(root, "empty", files), tmp_path / "o"
    )
    assert outcome.folder is None
    assert "dist/index.html" in outcome.output


async def test_a_library_is_no_site(sandbox: SandboxClient, root: Path, tmp_path: Path) -> None:
    files = {"pyproject.toml": "[project]\nname='x'\n", "x/__init__.py": ""}
    outcome = await build(sandbox, repo(root, "lib", files), tmp_path / "o")
    assert outcome.plan is None
