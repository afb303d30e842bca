"""The tool registry: tools as pydantic models, tools.json, validated, idempotent,
policy-checked calls recorded on the job, discovery over NATS and MCP servers."""
