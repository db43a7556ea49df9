"""Shared fixtures. The public dev data lives beside the checkout in ../shared/data; Azurite (the
blob emulator) is started on demand by ``azurite_connection_string``."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"public dev data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


AZURITE_HOST = "127.0.0.1"
AZURITE_PORT = int(os.environ.get("AZURITE_BLOB_PORT", "10000"))
# The well-known development account every Azurite instance serves (public, not a secret).
AZURITE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    f"BlobEndpoint=http://{AZURITE_HOST}:{AZURITE_PORT}/devstoreaccount1;"
)


def _azurite_listening() -> bool:
    try:
        with socket.create_connection((AZURITE_HOST, AZURITE_PORT), timeout=1):
            return True
    except OSError:
        return False


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def azurite_connection_string(repo_root: Path) -> Iterator[str]:
    """Azurite's connection string, starting the emulator (scripts/azurite.sh) if it is not up.

    Skips only on a developer machine without ``node_modules/azurite``; in CI a missing emulator fails.
    """
    if _azurite_listening():
        yield AZURITE_CONNECTION_STRING
        return
    if not (repo_root / "node_modules" / "azurite").is_dir():
        message = "Azurite is not installed (npm install azurite@3.35.0) and not running"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    script = repo_root / "scripts" / "azurite.sh"
    started = subprocess.run([str(script)], capture_output=True, text=True, timeout=60, check=False)
    if started.returncode != 0 or not _azurite_listening():
        pytest.fail(f"scripts/azurite.sh could not start Azurite:\n{started.stdout}\n{started.stderr}")
    try:
        yield AZURITE_CONNECTION_STRING
    finally:
        # Stop only the instance this session started.
        subprocess.run([str(script), "stop"], capture_output=True, timeout=30, check=False)


@pytest.fixture
def azure_container(azurite_connection_string: str) -> Iterator[str]:
    """A fresh, uniquely named container, deleted after the test."""
    from azure.storage.blob import BlobServiceClient

    name = f"test-{uuid.uuid4().hex[:24]}"
    yield name
    service = BlobServiceClient.from_connection_string(azurite_connection_string)
    service.delete_container(name)


@pytest.fixture(scope="session")
def inference_service_url(repo_root: Path) -> Iterator[str]:
    """The GPU inference service (gpu-inference/app) served for real on a loopback port, on CPU."""
    import sys

    import uvicorn

    from tests.serving import free_port, running

    service = repo_root / "gpu-inference"
    sys.path.insert(0, str(service))
    try:
        from app.main import create_app
    finally:
        sys.path.remove(str(service))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    with running(server):
        yield f"http://127.0.0.1:{port}"
