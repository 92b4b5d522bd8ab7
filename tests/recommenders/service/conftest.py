"""A real uvicorn serving the shipped model and a tiny text mapper on 127.0.0.1, for the load and
browser tests (the API tests use FastAPI's in-process client)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi", reason="the service is the [serve] extra (make setup installs it)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(text_model, tmp_path_factory):
    """`tie-gym serve` as a user starts it, from a folder with no runs/, and its base URL."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if k != "TIE_DATA_DIR"}  # no data folder needed
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "recommenders.service", "serve", "--port", str(port)),
            *("--text-model", str(text_model)),
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/api/model", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the server did not start: " + Path(log.name).read_text()[-2000:])
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()
