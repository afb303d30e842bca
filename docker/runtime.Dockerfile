# syntax=docker/dockerfile:1
# bigdaddyg/runtime: what sandboxed code runs on when a container image is wanted instead of a
# debootstrap tree. Debian bookworm's own packages: Node.js 18 LTS with npm 9, Python 3.11,
# git; no third-party apt repository. Runs as uid/gid 65534 (nobody:nogroup), like the sandbox.
#
#   docker build -f docker/runtime.Dockerfile -t bigdaddyg/runtime:latest .
#
# RUNTIME_PACKAGES must equal bdg_sandboxd.rootfs.RUNTIME_PACKAGES (the debootstrap rootfs):
# tests/sandbox/test_rootfs.py checks it. .github/workflows/runtime-image.yml publishes it.

FROM debian:bookworm-slim

ARG RUNTIME_PACKAGES="nodejs npm python3 python3-venv python3-pytest git ca-certificates make procps xz-utils"

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /workspace \
 && chown 65534:65534 /workspace

ENV HOME=/tmp \
    NPM_CONFIG_CACHE=/tmp/.npm \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

USER 65534:65534
WORKDIR /workspace
CMD ["/bin/bash"]
