"""The offline model next to the embedded stack: `bdg up` serves it when no endpoint is set.

With neither OPENAI_BASE_URL nor OPENAI_API_KEY nor BDG_LLM_RECORDINGS (answers from a file of
recorded calls, which needs no model) set, and the `bdg-llm[local]` extra installed
(or BDG_LOCAL_MODEL naming a GGUF file), the local model server starts under BDG_HOME/models and
every service gets its URL, so all of them keep one code path: the `openai` SDK. Without the
extra there is no model: services can then only answer from recorded calls (replay).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from bdg_llm.local_model import (
    MODELS,
    LocalModelConfig,
    ModelFileError,
    ModelNotInstalledError,
    is_installed,
    resolve_model,
)
from bdg_llm.local_server import LocalModelServer, LocalServerError, ServerOptions, start
from bdg_runtime.settings import Settings

Say = Callable[[str], None]


def ensure_local_model_server(
    settings: Settings, env: Mapping[str, str] | None = None, say: Say = print
) -> tuple[str | None, LocalModelServer | None]:
    """The OpenAI base URL services will use (None: the SDK's default, or no model at all) and
    the local server we started for it, if any (stop it on shutdown)."""
    env = os.environ if env is None else env
    if env.get("BDG_LLM_RECORDINGS"):
        say(f"model: answers from the recorded calls in {env['BDG_LLM_RECORDINGS']}; none served")
        return env.get("OPENAI_BASE_URL"), None
    if env.get("OPENAI_BASE_URL"):
        return env["OPENAI_BASE_URL"], None
    if env.get("OPENAI_API_KEY"):
        return None, None  # OpenAI itself
    home = settings.bdg_home / "models"
    try:
        config = LocalModelConfig.from_env(env)
        extra = MODELS[config.size].extra
        if not importlib.util.find_spec("xllamacpp") or not (
            config.own_file or is_installed(MODELS[config.size])
        ):
            raise ModelNotInstalledError(
                "no OPENAI_BASE_URL / OPENAI_API_KEY, and the offline model is not installed "
                f"(install bdg-llm[{extra}])"
            )
        model = resolve_model(config, home)
        if not model.pinned:
            say(f"model: your own file {model.path} (not hash-pinned: its integrity is unchecked)")
        server = start(model, home / "server.log", server_options(config, home))
    except (ModelFileError, LocalServerError) as err:  # a refused file is never loaded
        say(f"no model available: {err}; services can only answer from recorded calls")
        return None, None
    say(f"model: {model.name} served offline on {server.openai_base_url} (log {home}/server.log)")
    return server.openai_base_url, server


def server_options(config: LocalModelConfig, home: Path) -> ServerOptions:
    """A fresh key, and the threads and speculative decoding the environment asked for."""
    options = ServerOptions(api_key=secrets.token_urlsafe(24))
    if config.threads is not None:
        options = replace(options, threads=config.threads)
    drafter = None
    if config.speculative == "draft":  # the 0.5B drafts for the 1.5B (from_env checks)
        drafter = resolve_model(replace(config, size="0.5b", speculative="none"), home).path
    return replace(options, speculative=config.speculative, draft_model=drafter)


ROLE_MODELS = ("BDG_MODEL_PLANNER", "BDG_MODEL_CRITIC", "BDG_MODEL_CODER", "BDG_MODEL_REVIEWER")


def service_env(
    server: LocalModelServer | None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What every service's environment needs to use the local server (nothing without one):
    its URL and key, its model for each role not set otherwise (so calls are recorded under the
    model that answered, at no cost), its context size (the coder's limits follow it), streamed
    answers (the only ones its server stops when their caller goes), plans drafted as a few
    short steps, and
    offline embeddings, since the chat model cannot embed (MiniLM, or its static space when
    BDG_EMBEDDINGS=offline-static)."""
    env = os.environ if env is None else env
    if server is None:
        return {}
    return {
        **{name: server.model for name in ROLE_MODELS if not env.get(name)},
        "OPENAI_BASE_URL": server.openai_base_url,
        "OPENAI_API_KEY": server.api_key or "local",
        "BDG_LLM_CONTEXT_TOKENS": str(server.context_tokens),
        "BDG_LLM_STREAM": "true",  # a cancelled call then stops its generation
        # drafts a small model cannot run to its cap with; a choice made otherwise stands
        **({} if env.get("BDG_PLAN_FORMAT") else {"BDG_PLAN_FORMAT": "steps"}),
        # the chat model cannot embed: offline, or its static space when that was asked for
        "BDG_EMBEDDINGS": "offline-static" if _wants_static(env) else "offline",
    }


def _wants_static(env: Mapping[str, str]) -> bool:
    return env.get("BDG_EMBEDDINGS", "").strip().lower() == "offline-static"
