"""The environment a project's install and tests get in the sandbox (pure).

The sandbox's root filesystem is read-only and has `python3` but no `python`; Python projects
get a virtual environment inside the workspace (`.bdg-venv`, first on PATH), so the detected
`python -m pip install ...` installs there. Installs run with HOME in `.bdg-home` (removed once
they are done) and their package managers' download caches in the tenant's cache, which sandboxd
mounts at /cache for them and keeps between runs (`Exec.cache`, sandboxd/PROTOCOL.md): a tenant's
second install of the same packages downloads nothing it already has. Tests run with HOME on the
sandbox's own /tmp, and without /cache (test code cannot spoil the tenant's later installs).
"""

from __future__ import annotations

from collections.abc import Iterable

from bdg_tester.detection.projects import Argv, Kind, PackageManager, Project

WORKSPACE = "/workspace"
VENV = ".bdg-venv"
HOME = ".bdg-home"
CACHE = "/cache"  # sandboxd's mount point of the tenant's cache
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Package managers that may be missing from the sandbox: installed into the venv first.
BOOTSTRAP = {PackageManager.uv: "uv", PackageManager.poetry: "poetry"}

# A venv with pip, fast: `python3 -m venv` runs ensurepip, which byte-compiles pip (7-20 s on two
# cores); unpacking the pip wheel that ensurepip would install takes half a second. Without
# such a wheel the venv borrows the system's pip (and, with it, the system's packages).
_MAKE_VENV = """
import glob, os, subprocess, sys, venv, zipfile
target = sys.argv[1]
bundled = os.path.join(os.path.dirname(os.path.dirname(venv.__file__)), "ensurepip", "_bundled")
wheels = sorted(glob.glob("/usr/share/python-wheels/pip-*.whl") + glob.glob(bundled + "/pip-*.whl"))
if wheels:
    venv.create(target, with_pip=False)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    python = os.path.join(target, "bin", "python")
    site = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)
    zipfile.ZipFile(wheels[-1]).extractall(site.stdout.strip())
else:
    venv.create(target, with_pip=False, system_site_packages=True, clear=True)
"""
MAKE_VENV: Argv = ("python3", "-c", _MAKE_VENV, f"{WORKSPACE}/{VENV}")


def cwd(root: str) -> str:
    return WORKSPACE if root in ("", ".") else f"{WORKSPACE}/{root}"


def needs_venv(projects: Iterable[Project]) -> bool:
    return any(p.kind is Kind.python for p in projects)


def install_commands(project: Project) -> tuple[Argv, ...]:
    tool = BOOTSTRAP.get(project.package_manager)
    bootstrap: tuple[Argv, ...] = (("python", "-m", "pip", "install", tool),) if tool else ()
    return (*bootstrap, *project.install)


def _base(venv: bool) -> dict[str, str]:
    env = {"LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    if venv:
        env |= {
            "PATH": f"{WORKSPACE}/{VENV}/bin:{SYSTEM_PATH}",
            "VIRTUAL_ENV": f"{WORKSPACE}/{VENV}",
        }
    else:
        env["PATH"] = SYSTEM_PATH
    return env


def install_env(project: Project, venv: bool) -> dict[str, str]:
    """For execs with the cache (``cache=True``): the download caches point into /cache."""
    return {
        **_base(venv),
        "HOME": f"{WORKSPACE}/{HOME}",
        "CI": "true",
        "npm_config_cache": f"{CACHE}/npm",
        # Cached package metadata, however old, before asking the registry: a warm install of a
        # vitest project takes 4.5 s instead of 6.1 (7.5 cold). A version missing from it is
        # still fetched; a range may resolve to a version a few minutes older.
        "npm_config_prefer_offline": "true",
        "npm_config_store_dir": f"{CACHE}/pnpm",
        "YARN_CACHE_FOLDER": f"{CACHE}/yarn",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "PIP_PROGRESS_BAR": "off",
        "PIP_NO_COMPILE": "1",  # bytecode is written when the tests import the code
        "PIP_CACHE_DIR": f"{CACHE}/pip",  # downloads (http-v2) and wheels built from sdists
        "UV_CACHE_DIR": f"{CACHE}/uv",
        "UV_PYTHON_DOWNLOADS": "never",  # python.org is not a package registry
        "UV_LINK_MODE": "copy",
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "POETRY_CACHE_DIR": f"{CACHE}/poetry",
        **dict(project.env),
    }


def run_env(project: Project, venv: bool) -> dict[str, str]:
    return {**_base(venv), "HOME": "/tmp", **dict(project.env)}
