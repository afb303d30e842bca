.PHONY: install test test-external lint bench demo up

install:
	uv sync

test:
	uv run pytest

test-external:
	BDG_TEST_STACK=external uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check libs services cli
	uv run mypy

bench:
	uv run python -m bench.replay_bench
	uv run python -m bench.hop_latency

demo:
	uv run bdg demo

up:
	uv run bdg up
