"""compose.yaml and docker/Dockerfile, checked without a Docker engine.

`compose_problems(path)` reads a compose file and returns what is wrong with it (an empty list
when nothing is): services that are neither healthchecked nor waiting on healthy ones, missing
Dockerfiles or build targets, `python -m` modules that are not in the workspace, environment
variables that `bdg_runtime.settings.Settings` does not declare, Dockerfile COPY sources that do
not exist (or that .dockerignore hides), workspace members the Dockerfile forgets. The tests at
the bottom feed it broken copies to show that each check can fail.

`docker compose config -q` validates the file against the compose schema without an engine; it
runs when a compose CLI (the `docker compose` plugin or `docker-compose`) is installed.
"""

from __future__ import annotations

import copy
import glob
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"

# Variables read by third-party libraries themselves, not by our Settings. Keep this short and
# name the reader: everything else a service gets must be a declared setting.
LIBRARY_ENV = {
    "AWS_ENDPOINT_URL": "boto3 (S3-compatible store for the auditor)",
    "AWS_ACCESS_KEY_ID": "boto3",
    "AWS_SECRET_ACCESS_KEY": "boto3",
    "AWS_DEFAULT_REGION": "boto3",
}

DEFAULT_SERVICES = ("gateway", "planner", "coder", "tester", "deployer", "indexer", "auditor")


# --------------------------------------------------------------------------------------------
# the checker


def settings_env_names() -> set[str]:
    """Environment variable names that bdg_runtime.settings.Settings reads."""
    from bdg_runtime.settings import Settings

    prefix = str(Settings.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        names.add((prefix + field_name).upper())
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                names.add(alias.upper())
    return names


def workspace_members(root: Path = ROOT) -> list[Path]:
    """Directories of the uv workspace members (relative to root), from the root pyproject."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    workspace = pyproject.get("tool", {}).get("uv", {}).get("workspace", {})
    excluded: set[Path] = set()
    for pattern in workspace.get("exclude", []):
        excluded.update(Path(p) for p in glob.glob(pattern, root_dir=root))
    members: set[Path] = set()
    for pattern in workspace.get("members", []):
        for match in glob.glob(pattern, root_dir=root):
            if (root / match / "pyproject.toml").is_file() and Path(match) not in excluded:
                members.add(Path(match))
    return sorted(members)


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of `module` inside some workspace member, if there is one."""
    parts = module.split(".")
    for member in workspace_members(root):
        for candidate in (
            root / member / Path(*parts).with_suffix(".py"),
            root / member / Path(*parts) / "__init__.py",
        ):
            if candidate.is_file():
                return candidate
    return None


def module_importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def _as_argv(command: Any) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def python_modules(command: Any) -> list[str]:
    """X for each `python -m X` (python, python3, python3.11...) in a compose command."""
    argv = _as_argv(command)
    found = []
    for i, word in enumerate(argv[:-2]):
        if re.fullmatch(r"(.*/)?python(3(\.\d+)?)?", word) and argv[i + 1] == "-m":
            found.append(argv[i + 2])
    return found


def env_names(environment: Any) -> list[str]:
    if environment is None:
        return []
    if isinstance(environment, dict):
        return [str(k) for k in environment]
    return [str(item).split("=", 1)[0] for item in environment]


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """depends_on in its long form: {name: {condition: ..., required: ...}}."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {"condition": "service_started"}) for name, spec in deps.items()}


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if not check or check.get("disable"):
        return False
    test = check.get("test")
    if isinstance(test, str):
        return bool(test.strip())
    return bool(test) and test[0] != "NONE"


def in_default_profile(service: dict[str, Any]) -> bool:
    return not service.get("profiles")


def dockerfile_instructions(dockerfile: Path) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            yield word.upper(), rest.strip()
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        yield word.upper(), rest.strip()


def copy_sources(dockerfile: Path) -> list[str]:
    """Build-context paths that COPY/ADD (without --from) and RUN bind mounts read."""
    sources: list[str] = []
    for instruction, args in dockerfile_instructions(dockerfile):
        if instruction in ("COPY", "ADD"):
            words = json.loads(args) if args.startswith("[") else shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            if any(f.startswith("--from=") for f in flags):
                continue
            sources.extend(p for p in paths[:-1] if "://" not in p)
        elif instruction == "RUN":
            for mount in re.findall(r"--mount=(\S+)", args):
                opts = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in mount.split(","))
                if opts.get("type") == "bind" and "from" not in opts:
                    sources.append(opts.get("source", opts.get("src", ".")))
    return sources


def dockerfile_stages(dockerfile: Path) -> set[str]:
    stages = set()
    for instruction, args in dockerfile_instructions(dockerfile):
        if instruction == "FROM":
            match = re.search(r"\s+AS\s+(\S+)\s*$", args, flags=re.IGNORECASE)
            if match:
                stages.add(match.group(1))
    return stages


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip().lstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignored(path: str, dockerignore: Path) -> bool:
    """Whether .dockerignore keeps `path` (or a directory above it) out of the build context."""
    if not dockerignore.is_file():
        return False
    rules = []
    for line in dockerignore.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((negate, _dockerignore_regex(line.lstrip("!"))))
    parts = Path(path).parts
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        excluded = False
        for negate, regex in rules:  # the last matching rule wins
            if regex.match(prefix):
                excluded = not negate
        if excluded:
            return True
    return False


def dockerfile_problems(dockerfile: Path, context: Path, root: Path = ROOT) -> list[str]:
    problems = []
    name = dockerfile.name
    ignore = dockerfile.with_name(name + ".dockerignore")
    if not ignore.is_file():
        ignore = context / ".dockerignore"
    sources = copy_sources(dockerfile)
    normalised = set()
    for source in sources:
        rel = source[2:] if source.startswith("./") else source
        normalised.add(rel.rstrip("/") or ".")
        if not glob.glob(rel, root_dir=context):
            problems.append(f"{dockerfile}: COPY source {source!r} does not exist in {context}")
        elif rel not in (".", "") and dockerignored(rel, ignore):
            problems.append(f"{dockerfile}: COPY source {source!r} is excluded by {ignore}")
    if context.resolve() == root.resolve():
        for member in workspace_members(root):
            member_pyproject = (member / "pyproject.toml").as_posix()
            if member_pyproject not in normalised:
                problems.append(
                    f"{dockerfile}: workspace member {member} has no "
                    f"`COPY {member_pyproject} {member_pyproject}` for the dependency layer"
                )
            covered = any(
                src == "." or member.as_posix() == src or member.as_posix().startswith(src + "/")
                for src in normalised
            )
            if not covered:
                problems.append(
                    f"{dockerfile}: the sources of workspace member {member} are never copied"
                )
        for required in ("pyproject.toml", "uv.lock"):
            if required not in normalised:
                problems.append(f"{dockerfile}: {required} is not copied")
    return problems


def compose_problems(compose_path: Path, root: Path = ROOT) -> list[str]:
    """Everything wrong with a compose file, as readable lines; [] means it is fine."""
    compose_path = Path(compose_path)
    base = compose_path.parent
    document = yaml.safe_load(compose_path.read_text())
    services: dict[str, dict[str, Any]] = (document or {}).get("services") or {}
    if not services:
        return [f"{compose_path}: no services"]
    declared_volumes = set((document.get("volumes") or {}).keys())
    settings = settings_env_names()
    problems: list[str] = []
    checked_dockerfiles: set[tuple[Path, Path]] = set()

    for name, service in services.items():
        where = f"service {name!r}"
        default = in_default_profile(service)
        deps = depends_on(service)

        # dependencies and health
        for dep, spec in deps.items():
            if dep not in services:
                problems.append(f"{where}: depends on unknown service {dep!r}")
                continue
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy" and not has_healthcheck(services[dep]):
                problems.append(
                    f"{where}: waits for {dep!r} to be healthy, but {dep!r} has no healthcheck"
                )
            if default and not in_default_profile(services[dep]) and spec.get("required", True):
                problems.append(
                    f"{where}: a plain `docker compose up` needs {dep!r}, which "
                    f"is only in profiles {services[dep].get('profiles')}"
                )
        waits_healthy = bool(deps) and all(
            spec.get("condition") == "service_healthy" for spec in deps.values()
        )
        if not has_healthcheck(service) and not waits_healthy:
            problems.append(
                f"{where}: has no healthcheck and does not wait for healthy dependencies"
            )

        # volumes: named ones declared, relative bind sources present
        for volume in service.get("volumes") or []:
            source = (
                volume.get("source")
                if isinstance(volume, dict)
                else (str(volume).split(":", 1)[0] if ":" in str(volume) else None)
            )
            if not source:
                continue
            if source.startswith((".", "/", "~")):
                if source.startswith(".") and not (base / source).exists():
                    problems.append(f"{where}: bind-mount source {source} does not exist")
            elif source not in declared_volumes:
                problems.append(f"{where}: volume {source!r} is not declared under volumes:")

        build = service.get("build")
        if build is None:
            continue

        # built services: Dockerfile, target, scaling, environment, modules
        if isinstance(build, str):
            build = {"context": build}
        context = (base / str(build.get("context", "."))).resolve()
        dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
        if not dockerfile.is_file():
            problems.append(f"{where}: dockerfile {dockerfile} does not exist")
        else:
            target = build.get("target")
            if target and target not in dockerfile_stages(dockerfile):
                problems.append(f"{where}: build target {target!r} is not a stage of {dockerfile}")
            if (dockerfile, context) not in checked_dockerfiles:
                checked_dockerfiles.add((dockerfile, context))
                problems.extend(dockerfile_problems(dockerfile, context, root))

        if "container_name" in service:
            problems.append(f"{where}: container_name prevents `--scale {name}=N`")

        for infra in ("nats", "postgres"):
            if infra in services and deps.get(infra, {}).get("condition") != "service_healthy":
                problems.append(f"{where}: does not wait for {infra!r} to be healthy")

        for var in env_names(service.get("environment")):
            if var.upper() not in settings and var not in LIBRARY_ENV:
                problems.append(
                    f"{where}: environment variable {var} is not declared by "
                    "bdg_runtime.settings.Settings"
                )

        modules = python_modules(service.get("command"))
        if not modules:
            problems.append(f"{where}: command {service.get('command')!r} is not `python -m ...`")
        for module in modules:
            if not default:
                # Opt-in profiles may name a package another issue has not delivered yet.
                continue
            if module_file(module, root) is None:
                path = "/".join(module.split(".")) + ".py"
                problems.append(f"{where}: no {path} in any workspace member (python -m {module})")
            elif not module_importable(module):
                problems.append(f"{where}: `python -m {module}` is not importable (run `uv sync`?)")
    return problems


def compose_cli() -> list[str] | None:
    """argv prefix of an installed compose CLI, or None."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


# --------------------------------------------------------------------------------------------
# the real files


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_compose_file_has_no_problems() -> None:
    problems = compose_problems(COMPOSE)
    assert not problems, "compose.yaml:\n  " + "\n  ".join(problems)


def test_compose_services_and_wiring() -> None:
    services = load_compose()["services"]
    for infra in ("nats", "postgres", "minio"):
        assert infra in services
        assert has_healthcheck(services[infra]), infra
    assert services["nats"]["image"].startswith("nats:2.10")
    assert services["postgres"]["image"] == "pgvector/pgvector:pg16"
    nats_command = _as_argv(services["nats"]["command"])
    assert {"-js", "-m"} <= set(nats_command)
    assert nats_command[nats_command.index("-sd") + 1] == "/data"
    assert "8222/healthz" in json.dumps(services["nats"]["healthcheck"]["test"])
    assert "pg_isready" in json.dumps(services["postgres"]["healthcheck"]["test"])

    for name in (*DEFAULT_SERVICES, "sandboxd"):
        service = services[name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert service["build"]["context"] == "."
        assert _as_argv(service["command"]) == ["python", "-m", f"bdg_{name}.main"]
        env = service["environment"]
        assert env["BDG_SERVICE_NAME"] == name
        assert env["DATABASE_URL"] == "postgresql://bdg:bdg@postgres:5432/bdg"
        assert env["NATS_URL"] == "nats://nats:4222"
        assert env["AGENT_SANDBOX_ENDPOINT"] == "unix:///var/run/bigdaddyg/sandbox.sock"
        assert "container_name" not in service
        if name in DEFAULT_SERVICES:
            assert in_default_profile(service), name
        if name != "gateway":
            assert "ports" not in service, f"{name} publishes a port: it could not scale"

    gateway = services["gateway"]
    assert any(str(p).split(":")[-1] == "8080" for p in gateway["ports"])
    assert "/healthz" in json.dumps(gateway["healthcheck"]["test"])
    assert gateway["environment"]["GATEWAY_HOST"] == "0.0.0.0"

    sandboxd = services["sandboxd"]
    assert sandboxd["profiles"] == ["sandbox"]
    assert sandboxd["privileged"] is True
    socket_volume = {str(v).split(":")[0] for v in sandboxd["volumes"]}
    for user in ("coder", "tester"):
        assert socket_volume & {str(v).split(":")[0] for v in services[user]["volumes"]}, user
    assert "sandboxd" not in {d for s in DEFAULT_SERVICES for d in depends_on(services[s])}


def test_compose_uses_anchors_for_the_common_block() -> None:
    text = COMPOSE.read_text()
    assert "&service" in text
    assert text.count("<<: *service\n") >= len(DEFAULT_SERVICES)


def test_dockerfile_copies_exist_and_cover_the_workspace() -> None:
    problems = dockerfile_problems(ROOT / "docker" / "Dockerfile", ROOT)
    assert not problems, "\n".join(problems)
    stages = dockerfile_stages(ROOT / "docker" / "Dockerfile")
    assert {"build", "service", "sandboxd"} <= stages
    runs = [a for i, a in dockerfile_instructions(ROOT / "docker" / "Dockerfile") if i == "RUN"]
    assert any("uv sync --frozen --no-dev" in r for r in runs)


def test_docker_compose_config_validates() -> None:
    cli = compose_cli()
    if cli is None:
        # .ci/run installs Debian's docker-compose, so CI always validates; a laptop may not.
        assert not os.environ.get("CI"), "CI must have a compose CLI to validate compose.yaml"
        pytest.skip("no compose CLI here (`docker compose` plugin or `docker-compose`)")
    for extra in ([], ["--profile", "sandbox"]):
        result = subprocess.run(
            [*cli, "-f", str(COMPOSE), *extra, "config", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------
# the checker fails when it should


def _valid_compose() -> dict[str, Any]:
    """A small compose document that passes every check (context = the real repository)."""
    healthcheck = {"test": ["CMD", "true"]}
    healthy = {"condition": "service_healthy"}
    env = {"DATABASE_URL": "postgresql://x", "NATS_URL": "nats://nats:4222"}
    worker = {
        "build": {"context": str(ROOT), "dockerfile": "docker/Dockerfile", "target": "service"},
        "command": ["python", "-m", "bdg_contracts.wire"],
        "environment": env,
        "depends_on": {"nats": healthy, "postgres": healthy},
    }
    return {
        "services": {
            "nats": {"image": "nats:2.10-alpine", "healthcheck": healthcheck},
            "postgres": {"image": "pgvector/pgvector:pg16", "healthcheck": healthcheck},
            "worker": worker,
            "optional": {
                **copy.deepcopy(worker),
                "profiles": ["extra"],
                "command": ["python", "-m", "bdg_not_built_yet.main"],
            },
        },
    }


def _problems_of(document: dict[str, Any], tmp_path: Path) -> list[str]:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(document))
    return compose_problems(path)


def test_checker_accepts_the_valid_base(tmp_path: Path) -> None:
    # the tolerated case: a non-default profile may name a module that does not exist yet
    assert _problems_of(_valid_compose(), tmp_path) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


BROKEN = {
    "missing dockerfile": (
        _set("services.worker.build.dockerfile", "docker/Missing.Dockerfile"),
        "Missing.Dockerfile does not exist",
    ),
    "unknown env var": (
        _set("services.worker.environment.BDG_NOT_A_SETTING", "1"),
        "BDG_NOT_A_SETTING",
    ),
    "unknown env var in list form": (
        _set("services.worker.environment", ["NATS_URL=nats://x", "DATBASE_URL=x"]),
        "DATBASE_URL",
    ),
    "module not in workspace": (
        _set("services.worker.command", "python -m bdg_nowhere.main"),
        "bdg_nowhere/main.py",
    ),
    "not python -m": (_set("services.worker.command", ["sleep", "1"]), "python -m"),
    "unknown build target": (_set("services.worker.build.target", "nope"), "'nope'"),
    "container_name": (_set("services.worker.container_name", "w"), "--scale"),
    "healthy dep without healthcheck": (_delete("services.nats.healthcheck"), "no healthcheck"),
    "not waiting for postgres": (_delete("services.worker.depends_on.postgres"), "'postgres'"),
    "unknown dependency": (
        _set("services.worker.depends_on.redis", {"condition": "service_started"}),
        "'redis'",
    ),
    "default service needs an opt-in one": (
        _set("services.worker.depends_on.optional", {"condition": "service_healthy"}),
        "docker compose up",
    ),
    "undeclared volume": (_set("services.worker.volumes", ["socket:/run/x"]), "'socket'"),
    "missing bind source": (_set("services.nats.volumes", ["./nope.conf:/x"]), "nope.conf"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_checker_rejects(case: str, tmp_path: Path) -> None:
    mutate, expected = BROKEN[case]
    document = _valid_compose()
    mutate(document)
    problems = _problems_of(document, tmp_path)
    assert any(expected in p for p in problems), problems


def test_checker_rejects_dockerfile_gaps(tmp_path: Path) -> None:
    real = (ROOT / "docker" / "Dockerfile").read_text()
    context = tmp_path / "ctx"
    # a copy of just what the Dockerfile reads: root files and each member's pyproject.toml
    for rel in (
        "pyproject.toml",
        "uv.lock",
        "docker/Dockerfile",
        *((m / "pyproject.toml").as_posix() for m in workspace_members()),
    ):
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, context / rel)
    assert dockerfile_problems(context / "docker" / "Dockerfile", context, root=context) == []
    (context / "docker" / "Dockerfile").write_text(
        real.replace("COPY services/coder/pyproject.toml services/coder/pyproject.toml\n", "")
        + "\nCOPY docker/missing.conf /etc/missing.conf\n"
    )
    (context / ".dockerignore").write_text((ROOT / ".dockerignore").read_text() + "uv.lock\n")
    problems = dockerfile_problems(context / "docker" / "Dockerfile", context, root=context)
    joined = "\n".join(problems)
    assert "services/coder" in joined
    assert "docker/missing.conf" in joined
    assert "'uv.lock' is excluded" in joined


def test_dockerignore_matching(tmp_path: Path) -> None:
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("**/__pycache__\n.venv\ndocs/*.md\n!docs/keep.md\n")
    assert dockerignored("libs/x/__pycache__/a.pyc", ignore)
    assert dockerignored(".venv/bin/python", ignore)
    assert dockerignored("docs/a.md", ignore)
    assert not dockerignored("docs/keep.md", ignore)
    assert not dockerignored("libs/x/a.py", ignore)


def test_python_modules_parsing() -> None:
    assert python_modules(["python", "-m", "bdg_x.main"]) == ["bdg_x.main"]
    assert python_modules("/app/.venv/bin/python3.11 -m bdg_y.main --flag") == ["bdg_y.main"]
    assert python_modules(["bdg-gateway"]) == []
