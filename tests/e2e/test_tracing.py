"""One job, one trace: the gateway's request span is the root, and every service's handler,
model call, tool call and sandbox exec hangs under it, exported over OTLP/HTTP (configured by
OTEL_* variables alone, a Grafana-Cloud-style Authorization header included) to a receiver
this test owns. With no collector there, jobs finish all the same and the dropped spans are
counted; every process serves Prometheus metrics that are scraped and parsed here.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from tests.e2e.conftest import Client_
from tests.e2e.full_flow.scenarios import SCENARIOS
from tests.e2e.full_flow.services import model_env, start_services, write_deploy_answers
from tests.e2e.harness import Cluster, ServiceProcess, wait_for_state
from tests.gateway_stack import AUDIENCE, Keys, new_tenant
from tests.git_repos import make_repo
from tests.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver
from tests.ports import free_port
from tests.sandbox.daemon import Daemon, start_daemon
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]
SPAN_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_EXPORTER_OTLP_TIMEOUT": "2"}


@pytest.fixture(name="sources")
def sources_fixture() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: the sandbox user checks the repositories out.
    root = Path(tempfile.mkdtemp(prefix="bdg-tracing-")).resolve()
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="daemon")
async def daemon_fixture(sources: Path) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=json.dumps([str(sources)]))
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with otlp_receiver() as receiver:
        yield receiver


def start_gateway(cluster: Cluster, keys: Keys, grants: Path, sandbox: str) -> ServiceProcess:
    env = {
        "GATEWAY_PORT": "0",  # any free port: read from its log line
        "JWT_ALGORITHM": "EdDSA",
        "JWT_PUBLIC_KEY": keys.ed_public_pem,
        "JWT_AUDIENCE": AUDIENCE,
        "BDG_SOURCE_GRANTS": str(grants),
        "AGENT_SANDBOX_ENDPOINT": sandbox,
    }
    return cluster.start("gateway", module="bdg_gateway.main", env=env)


async def logged_url(process: ServiceProcess, says: str) -> str:
    """The URL a process logged it serves at (it was given port 0: no race for a port)."""
    pattern = re.compile(re.escape(says) + r" (http://[0-9.]+:[0-9]+)")

    async def found() -> str | None:
        match = pattern.search(process.output())
        return match.group(1) if match else None

    return await eventually(found, 120, f"{process.role} to log '{says}'")


async def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """name -> [(labels, value)] of every sample the process serves."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples


def total(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(v for got, v in samples if labels.items() <= got.items())


async def test_one_job_is_one_trace_from_the_gateway_to_the_tester(
    cluster: Cluster,
    client: Client_,
    daemon: Daemon,
    sources: Path,
    receiver: Receiver,
    keys: Keys,
    tmp_path: Path,
) -> None:
    scenario = SCENARIOS["python_pass"]
    tenant, token = new_tenant(), secrets.token_urlsafe(24)
    repo = sources / f"python-{cluster.namespace}"
    make_repo(repo, scenario.files)
    daemon.grant({tenant: [sources]})
    basic = base64.b64encode(f"123456:{token}".encode()).decode()
    metrics = {role: 0 for role in ("coder", "tester")}
    cluster.extra_env.update(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # What Grafana Cloud asks for: instance id and token, by configuration alone.
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Basic%20{basic}",
            **SPAN_EXPORT,
        }
    )
    gateway = start_gateway(cluster, keys, daemon.grants_file, daemon.endpoint)
    answers = write_deploy_answers(tmp_path / "deploy-answers.json")
    start_services(cluster, daemon.endpoint, answers, model_env(scenario, None), metrics)
    url = await logged_url(gateway, "gateway listening on")
    # A trace the tenant picks is not followed: the job's trace starts at the gateway.
    chosen = secrets.token_hex(16)
    headers = {
        **keys.headers(tenant, algorithm="EdDSA"),
        "traceparent": f"00-{chosen}-{'1' * 16}-01",
    }
    async with httpx.AsyncClient(base_url=url) as http:
        body = {"goal": scenario.goal, "repo": str(repo), "base_ref": "main"}
        created = await http.post("/jobs", json={**body, "plan_approval": "auto"}, headers=headers)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    await wait_for_state(client.store, job_id, JobState.awaiting_deploy_approval, 240)

    def of_job() -> list[ReceivedSpan]:
        spans = receiver.received()
        roots = [s for s in spans if s.name == "POST /jobs" and s.service == "gateway"]
        return [s for s in spans if roots and s.trace_id == roots[0].trace_id]

    async def whole_trace() -> list[ReceivedSpan] | None:
        spans = of_job()
        names = {(s.service, s.name) for s in spans}
        wanted = {
            ("tester", "process CodingFinished"),
            ("coder", "chat gpt-4o-mini"),
            ("deployer", "process ReviewCompleted"),
        }
        # Each service exports on its own schedule: the reviewer's call (the planner's) can
        # arrive after the deployer's span of the review's outcome.
        agents = {s.attributes.get("gen_ai.agent.name") for s in spans}
        return spans if wanted <= names and "reviewer" in agents else None

    spans = await eventually(whole_trace, 30, "the job's spans from every service")
    by_id = {s.span_id: s for s in spans}

    def chain(span: ReceivedSpan) -> list[str]:
        """The services from the root down to ``span``."""
        path = [span]
        while path[-1].parent_span_id:
            path.append(by_id[path[-1].parent_span_id])  # every parent is in the same trace
        return [s.service for s in reversed(path)]

    (root,) = [s for s in spans if not s.parent_span_id]
    assert root.trace_id != chosen
    assert (root.service, root.name, root.attributes["http.response.status_code"]) == (
        "gateway",
        "POST /jobs",
        201,
    )
    (tested,) = [s for s in spans if s.name == "process CodingFinished"]
    hops = [n for i, n in enumerate(chain(tested)) if i == 0 or chain(tested)[i - 1] != n]
    assert hops == ["gateway", "planner", "coder", "tester"]
    handlers = {s.service for s in spans if s.name.startswith("process ")}
    assert {"planner", "coder", "tester", "deployer"} <= handlers
    chats = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert {s.attributes["gen_ai.agent.name"] for s in chats} == {
        "planner",
        "critic",
        "coder",
        "reviewer",
    }
    for chat in chats:
        assert chat.attributes["gen_ai.request.model"]
        assert chat.attributes["gen_ai.usage.input_tokens"] > 0
        assert chat.attributes["gen_ai.usage.output_tokens"] > 0
        assert chat.attributes["bdg.cost_usd"] >= 0
    tools = {s.attributes["gen_ai.tool.name"] for s in spans if s.name.startswith("execute_tool")}
    assert {"file_read", "file_write", "run_tests"} <= tools
    execs = [s for s in spans if s.name == "sandbox exec"]
    assert {s.service for s in execs} >= {"tester"}
    assert {h["authorization"] for h in receiver.headers} == {f"Basic {basic}"}

    served = {p.role: p for p in cluster.processes if p.role in metrics}
    coder = await scrape(await logged_url(served["coder"], "metrics at"))
    tester = await scrape(await logged_url(served["tester"], "metrics at"))
    assert total(coder["bdg_model_tokens_total"], type="input") > 0
    assert total(coder["bdg_model_cost_usd_total"], service="coder") >= 0
    assert total(tester["bdg_sandbox_execs_total"], service="tester") >= 1
    assert total(tester["bdg_sandbox_exec_seconds_count"]) >= 1
    assert total(tester["bdg_events_handled_total"], event="CodingFinished", outcome="ok") >= 1


async def test_with_no_collector_jobs_finish_and_dropped_spans_are_counted(
    cluster: Cluster, client: Client_
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cluster.extra_env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": nowhere, **SPAN_EXPORT})
    for role in ("planner", "coder", "tester", "deployer"):
        cluster.start(role, env={"BDG_METRICS_PORT": "0"})
    c = client
    job = await c.commands.create(c.caller, cmd.RequestJob(goal="ship it"))
    # A second job whose planner fails every delivery: retried, then dead-lettered.
    poisoned = await c.commands.create(c.caller, cmd.RequestJob(goal="poison:planner"))
    await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval)
    await c.commands.approve_plan(c.caller, job.job_id)
    await wait_for_state(c.store, job.job_id, JobState.awaiting_deploy_approval)
    await c.commands.approve_deploy(c.caller, job.job_id)
    await wait_for_state(c.store, job.job_id, JobState.done)
    await wait_for_state(c.store, poisoned.job_id, JobState.failed)
    planner_url = await logged_url(cluster.processes[0], "metrics at")

    async def counted() -> dict[str, list[tuple[dict[str, str], float]]] | None:
        samples = await scrape(planner_url)
        dropped = total(samples["bdg_trace_spans_dropped_total"]) > 0
        lettered = total(samples.get("bdg_dead_letters_total", []))
        # The queue lag is read by the stream watchdog's next pass.
        lag = "bdg_consumer_pending" in samples
        return samples if dropped and lettered and lag else None

    planner = await eventually(counted, 30, "the planner's dropped spans, dead letter, lag")
    handled = planner["bdg_events_handled_total"]
    requested = {"service": "planner", "event": "JobRequested"}
    # At least once: the reconciler may re-drive the request while the plan awaits approval.
    ok = total(handled, **requested, outcome="ok")
    assert ok >= 1
    # BDG_MAX_DELIVER=3: retried twice, then dead-lettered (the reconciler's re-drives of the
    # failing step may add retries); each of them a handler run timed.
    retries = total(handled, **requested, outcome="retry")
    assert retries >= 2
    assert total(handled, **requested, outcome="dead_letter") == 1
    assert total(planner["bdg_dead_letters_total"], **requested) == 1
    assert total(planner["bdg_redeliveries_total"], **requested) >= 2
    runs = total(planner["bdg_handler_seconds_count"], event="JobRequested")
    assert runs == ok + retries + 1
    assert {labels["consumer"] for labels, _ in planner["bdg_consumer_pending"]} == {
        "planner-JobRequested",
        "planner-TestsPassed",
    }
