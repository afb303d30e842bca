"""A site as an OCI image in pure Python: deterministic tar layers, digests, config, manifest.

Two layers, so a new release of a site re-uploads only its files: the server layer (a static
busybox, whose ``httpd`` applet serves ``/site``; the same bytes for every site, so the registry
has it already after the first push) and the site layer (the artifact's files under ``site/``).
Entries are sorted and their times, owners and modes fixed, and gzip's header carries no time,
so the same artifact always makes the same image digest: a redelivery pushes nothing new.

Formats: OCI image spec v1.0 (github.com/opencontainers/image-spec, ``manifest.md``,
``config.md``, ``layer.md``): a layer's ``digest`` is the sha256 of the compressed blob, its
``diff_id`` in the config the sha256 of the uncompressed tar.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bdg_deployer.artifacts import ArtifactStore

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
PORT = 8080
NOBODY = "65534:65534"  # the server needs no root: it binds a port above 1024
SERVER_PATH = "bin/busybox"
ENTRYPOINT = ["/bin/busybox", "httpd", "-f", "-v", "-p", str(PORT), "-h", "/site"]


@dataclass(frozen=True)
class Blob:
    """Bytes as the registry stores them, with their digest (``sha256:<hex>``)."""

    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True)
class Image:
    layers: tuple[Blob, ...]
    config: Blob
    manifest: Blob

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return (*self.layers, self.config)


def _tar(entries: Iterable[tuple[str, bytes, int]]) -> bytes:
    """A tar of ``(path, content, mode)`` with its parent directories, in sorted order."""
    files = sorted(entries)
    dirs = sorted(
        {"/".join(p.split("/")[:i]) for p, _, _ in files for i in range(1, p.count("/") + 1)}
    )
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, content, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _layer(raw_tar: bytes) -> tuple[Blob, str]:
    """The gzip'ed layer and its diff_id (the uncompressed tar's digest)."""
    packed = gzip.compress(raw_tar, compresslevel=6, mtime=0)
    return Blob(LAYER_TYPE, packed), "sha256:" + hashlib.sha256(raw_tar).hexdigest()


class ServerBinaryError(ValueError):
    """The static server binary cannot run in an image of its own."""


ARCHITECTURES = {0x3E: "amd64", 0xB7: "arm64"}  # ELF e_machine -> OCI architecture


def static_architecture(binary: bytes) -> str:
    """The OCI architecture of a statically linked ELF64 executable: an image has no dynamic
    loader nor libc, so a binary that needs one (a PT_INTERP program header) is refused."""
    if binary[:5] != b"\x7fELF\x02" or binary[5] != 1:
        raise ServerBinaryError("not a little-endian ELF64 executable")
    (machine,) = struct.unpack_from("<H", binary, 18)
    (phoff,) = struct.unpack_from("<Q", binary, 32)
    size, count = struct.unpack_from("<HH", binary, 54)
    for i in range(count):
        (kind,) = struct.unpack_from("<I", binary, phoff + i * size)
        if kind == 3:  # PT_INTERP
            raise ServerBinaryError("dynamically linked: install busybox-static")
    if machine not in ARCHITECTURES:
        raise ServerBinaryError(f"ELF machine {machine:#x} is not amd64 nor arm64")
    return ARCHITECTURES[machine]


def server_layer(binary: bytes) -> tuple[Blob, str]:
    return _layer(_tar([(SERVER_PATH, binary, 0o755)]))


def site_layer(store: ArtifactStore, digest: str) -> tuple[Blob, str]:
    """The artifact's files under ``site/``, each re-hashed on the way (``verify``): a missing
    or altered artifact is refused with ``ArtifactError`` before anything is pushed."""
    manifest = store.verify(digest)
    entries = [
        (f"site/{name}", store.blob(entry.sha256).read_bytes(), 0o644)
        for name, entry in manifest.files.items()
    ]
    return _layer(_tar(entries))


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def site_image(store: ArtifactStore, digest: str, server: Path) -> Image:
    """The image of artifact ``digest``, served by the static ``server`` binary."""
    binary = server.read_bytes()
    architecture = static_architecture(binary)
    layers_and_ids = [server_layer(binary), site_layer(store, digest)]
    layers = tuple(blob for blob, _ in layers_and_ids)
    config = Blob(
        CONFIG_TYPE,
        _json(
            {
                "architecture": architecture,
                "os": "linux",
                "config": {
                    "User": NOBODY,
                    "Entrypoint": ENTRYPOINT,
                    "ExposedPorts": {f"{PORT}/tcp": {}},
                    "WorkingDir": "/site",
                    "Labels": {"dev.bigdaddyg.artifact": digest},
                },
                "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers_and_ids]},
            }
        ),
    )
    manifest = Blob(
        MANIFEST_TYPE,
        _json(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": config.descriptor(),
                "layers": [layer.descriptor() for layer in layers],
                "annotations": {"dev.bigdaddyg.artifact": digest},
            }
        ),
    )
    return Image(layers, config, manifest)
