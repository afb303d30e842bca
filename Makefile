.PHONY: install test test-external lint bench bench-agent demo demo-live up

install:
	uv sync

test:
	uv run pytest

test-external:  # the npm-registry tests ran in the embedded pass
	BDG_TEST_STACK=external uv run pytest -m "not npm_registry"

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy

bench:
	uv run python -m bench.replay_bench
	uv run python -m bench.hop_latency
	uv run python -m bench.full_job
	uv run python -m bench.tester_phases
	uv run python -m bench.job_create
	uv run python -m bench.tracing_overhead

bench-agent:  # the agent task set on the configured model (the offline one: about 15 min)
	uv run python -m bench.agent_bench

demo:
	uv run bdg demo

demo-live:
	uv run bdg demo --live

up:
	uv run bdg up
