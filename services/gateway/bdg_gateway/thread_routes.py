"""``/threads``: the web app's chat threads, per user, with export to and import from JSON.

A message may link the job its goal became; the job must be one of the caller's tenant (422
naming the field otherwise). Another tenant's or user's thread is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bdg_gateway.deps import Commands, CurrentCaller, Queries
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_gateway.thread_store import (
    MessageView,
    NewMessage,
    Role,
    ThreadDetail,
    ThreadStore,
    ThreadView,
)
from bdg_gateway.views import View
from bdg_jobs.errors import JobNotFoundError
from bdg_jobs.user_commands import Caller, JobCommands

router = APIRouter(prefix="/threads", tags=["threads"], route_class=StrictJsonRoute)
EXPORT_FORMAT: Final = "bdg-thread/1"
T = TypeVar("T")
Text = Annotated[str, Field(min_length=1, max_length=100_000, pattern=r"^[^\x00]*$")]
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateThread(Strict):
    title: Title


class PostMessage(Strict):
    text: Text
    role: Role = "user"
    job_id: UUID | None = Field(default=None, description="the job this message's goal became")


class ExportedMessage(Strict):
    role: Role
    text: Text
    job_id: UUID | None = None
    at: datetime


class ThreadExport(Strict):
    format: Literal["bdg-thread/1"]
    title: Title
    messages: list[ExportedMessage] = Field(max_length=10_000)


class ThreadList(View):
    items: list[ThreadView]
    limit: int
    offset: int


async def _store(request: Request, queries: Queries) -> ThreadStore:
    return ThreadStore(queries.pool)


Store = Annotated[ThreadStore, Depends(_store)]


async def _check_jobs(
    commands: JobCommands, caller: Caller, fields: list[tuple[str, UUID | None]]
) -> None:
    for field, job_id in fields:
        if job_id is None:
            continue
        try:
            await commands.get(caller, job_id)
        except JobNotFoundError:
            raise HTTPException(422, f"{field}: no job {job_id} for this tenant") from None


@router.post("", status_code=201)
async def create_thread(body: CreateThread, caller: CurrentCaller, store: Store) -> ThreadDetail:
    return await store.create(caller, body.title)


@router.get("")
async def list_threads(
    caller: CurrentCaller,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ThreadList:
    """The caller's own threads, the most recently used first."""
    return ThreadList(items=await store.list(caller, limit, offset), limit=limit, offset=offset)


@router.api_route("/import", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def import_other_methods() -> None:
    # Else /threads/{thread_id} takes them and answers 422 about an id that is "import".
    raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})


@router.get("/{thread_id}")
async def get_thread(thread_id: UUID, caller: CurrentCaller, store: Store) -> ThreadDetail:
    return _found(await store.get(caller, thread_id), thread_id)


@router.post("/{thread_id}/messages", status_code=201)
async def post_message(
    thread_id: UUID, body: PostMessage, caller: CurrentCaller, store: Store, commands: Commands
) -> MessageView:
    _found(await store.get(caller, thread_id), thread_id)
    await _check_jobs(commands, caller, [("body.job_id", body.job_id)])
    message = NewMessage(role=body.role, text=body.text, job_id=body.job_id)
    return _found(await store.append(caller, thread_id, message), thread_id)


@router.get("/{thread_id}/export")
async def export_thread(thread_id: UUID, caller: CurrentCaller, store: Store) -> ThreadExport:
    """The whole thread as a file ``POST /threads/import`` takes back."""
    thread = _found(await store.get(caller, thread_id), thread_id)
    messages = [
        ExportedMessage(role=m.role, text=m.text, job_id=m.job_id, at=m.at) for m in thread.messages
    ]
    return ThreadExport(format=EXPORT_FORMAT, title=thread.title, messages=messages)


@router.post("/import", status_code=201)
async def import_thread(
    body: ThreadExport, caller: CurrentCaller, store: Store, commands: Commands
) -> ThreadDetail:
    """A new thread of the caller's from an export; nothing is written if any part is wrong."""
    await _check_jobs(
        commands,
        caller,
        [(f"body.messages.{i}.job_id", m.job_id) for i, m in enumerate(body.messages)],
    )
    messages = [
        NewMessage(role=m.role, text=m.text, job_id=m.job_id, at=m.at) for m in body.messages
    ]
    return await store.create(caller, body.title, messages)


def _found(value: T | None, thread_id: UUID) -> T:
    if value is None:
        raise HTTPException(404, f"no thread {thread_id}")
    return value
