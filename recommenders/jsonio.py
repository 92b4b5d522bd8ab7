"""Reading and atomically writing JSON (and whole folders); `.json.gz` and `.json` are read alike."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recommenders.errors import DataError


def read_json(path: str | Path) -> Any:
    """Parse a JSON file, gzip-compressed or not, failing with a message that names the file."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "file not found", "check the path or set TIE_DATA_DIR")
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataError(
            path,
            None,
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "re-download the file; it is truncated or corrupt",
        ) from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(
            path,
            None,
            f"cannot be read ({exc})",
            "re-download the file; it is truncated or corrupt",
        ) from exc
    except ValueError as exc:  # json's other refusal: an integer of over 4300 digits
        raise DataError(
            path,
            None,
            f"not valid JSON for this reader ({exc})",
            "correct the value; no count or ID needs thousands of digits",
        ) from exc


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Checksum recorded in manifests so a run can name exactly which data it saw."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | Path, payload: Any) -> None:
    """Atomically write pretty, key-sorted JSON (stable diffs between runs)."""

    def _write(tmp: Path) -> None:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    atomic_write(path, _write)


@contextmanager
def staged_folder(final: Path, replace: bool = False) -> Iterator[Path]:
    """A hidden `.tmp-<name>` folder beside `final`, renamed to it on success and removed on any
    failure (Ctrl-C included): readers never see a half-written folder, none is left behind.
    With `replace`, an existing `final` is removed only once the new one is whole."""
    staging = final.parent / f".tmp-{final.name}"
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:  # cleanup only: the exception goes on
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if replace and final.exists():
        shutil.rmtree(final)
    staging.rename(final)
