"""The job's branch pushed from the deployer's clone to the repository's remote, with the host's
token as HTTP Basic credentials (GitHub, "Authenticating with a personal access token" for git
over HTTPS: the token is the password; Gitea likewise).

The credentials travel as an ``http.extraHeader`` given through git's environment
(``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_0``/``GIT_CONFIG_VALUE_0``): never in the URL, the
command line, the clone's config or a log. Redirects are not followed, so the header goes to
the configured host only. A push of the commit the branch already names changes nothing.
"""

from __future__ import annotations

import base64
from pathlib import Path

from bdg_deployer.git_scratch import run
from bdg_deployer.pull_requests.hosts import HostRefusedError, HostRepo

REFUSED = ("401", "403", "Authentication failed", "could not read Username", "rejected")


def credentials(repo: HostRepo) -> dict[str, str]:
    """git's environment for talking to the host with its token (fetch and push alike)."""
    pair = f"{repo.host.username}:{repo.host.token.get_secret_value()}".encode()
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": "Authorization: Basic " + base64.b64encode(pair).decode(),
        "GIT_CONFIG_KEY_1": "http.followRedirects",
        "GIT_CONFIG_VALUE_1": "false",
    }


def push_branch(clone: Path, repo: HostRepo, branch: str, sha: str) -> None:
    env = {"GIT_DIR": str(clone), **credentials(repo)}
    refspec = f"{sha}:refs/heads/{branch}"
    done = run(clone, "push", "--porcelain", "--end-of-options", repo.clone_url, refspec, env=env)
    if done.returncode == 0:
        return
    said = (done.stderr.strip() or done.stdout.strip())[-500:]
    if any(word in said for word in REFUSED):
        raise HostRefusedError(f"the push of {branch} to {repo.clone_url} was refused: {said}")
    raise RuntimeError(f"the push of {branch} to {repo.clone_url} failed: {said}")
