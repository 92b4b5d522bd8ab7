"""The download command against a local HTTP server on 127.0.0.1 (no internet needed)."""

import functools
import hashlib
import http.server
import threading

import pytest

from recommenders import download
from recommenders.download import Pinned, fetch, main


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    (served / "tie").mkdir(parents=True)
    (served / "tie" / "corpus.json").write_bytes(b'{"reports": []}')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()


def _pin(path, content):
    return Pinned(path, "unused", hashlib.sha256(content).hexdigest())


def test_download_verify_and_skip(server, tmp_path, monkeypatch):
    base, served = server
    pin = _pin("tie/corpus.json", (served / "tie" / "corpus.json").read_bytes())
    monkeypatch.setattr(download, "PINNED", (pin,))
    dest = tmp_path / "data"
    assert main(["--dest", str(dest), "--base-url", base]) == 0
    assert (dest / "tie" / "corpus.json").read_bytes() == b'{"reports": []}'
    assert fetch(pin, dest, base) is False  # already present and verified


def test_checksum_mismatch_writes_nothing(server, tmp_path, caplog):
    base, _ = server
    pin = Pinned("tie/corpus.json", "unused", "0" * 64)
    dest = tmp_path / "data"
    with pytest.raises(download.DataError, match="checksum"):
        fetch(pin, dest, base)
    assert not (dest / "tie" / "corpus.json").exists()


def test_missing_file_is_a_clear_error(server, tmp_path):
    base, _ = server
    with pytest.raises(download.DataError, match="download failed"):
        fetch(Pinned("tie/absent.json", "unused", "0" * 64), tmp_path, base)
