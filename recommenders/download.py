"""`python -m recommenders.download`: fetch the pinned upstream data files, checksum-verified.

For users without a data folder. Each file is downloaded to a temporary name, its SHA-256 is
checked against the pin, and only then renamed into place; a file already present with the
right checksum is skipped. `--base-url` swaps the upstream location (a mirror, or a test server).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from recommenders.errors import DataError
from recommenders.jsonio import atomic_write, sha256_file

log = logging.getLogger("recommenders.download")


@dataclass(frozen=True)
class Pinned:
    path: str
    """Where the file goes under the data folder (the layout TIE_DATA_DIR expects)."""
    url: str
    sha256: str


PINNED: tuple[Pinned, ...] = (
    Pinned(
        "tie/combined_dataset_full_frequency.json",
        "https://raw.githubusercontent.com/center-for-threat-informed-defense/technique-inference-engine/"
        "7cf2520d3d3fe0a849c2f3918907a8c7ddb56f82/data/combined_dataset_full_frequency.json",
        "d13c5968516f6c59d22312162427b55d93ee18dfb13b644d82f5eafb41cd54e4",
    ),
    Pinned(
        "attack/enterprise-attack-15.0.json",
        "https://raw.githubusercontent.com/mitre/cti/ATT%26CK-v15.0/enterprise-attack/enterprise-attack.json",
        "7318ac9cd5f91d88964bca52e29e1980fb36f431615d723e0ffc893efa584323",
    ),
)


def _url(pin: Pinned, base_url: str | None) -> str:
    if base_url is None:
        return pin.url
    return base_url.rstrip("/") + "/" + pin.path


def fetch(
    pin: Pinned, destination: Path, base_url: str | None = None, timeout: float = 60.0
) -> bool:
    """Download one pinned file; returns False when a verified copy was already there."""
    target = destination / pin.path
    if target.is_file() and sha256_file(target) == pin.sha256:
        log.info("%s: present and verified", pin.path)
        return False
    url = _url(pin, base_url)
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=pin.path, disable=None) as bar:
                while chunk := response.read(1 << 16):
                    digest.update(chunk)
                    chunks.append(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DataError(
            url,
            None,
            f"download failed ({exc})",
            "check the network or pass --base-url to a mirror",
        ) from exc
    if digest.hexdigest() != pin.sha256:
        raise DataError(
            url,
            "sha256",
            f"checksum {digest.hexdigest()[:12]}… differs from the pinned {pin.sha256[:12]}…",
            "the upstream file changed or the mirror is wrong; nothing was written",
        )
    atomic_write(target, lambda tmp: tmp.write_bytes(b"".join(chunks)))
    log.info("%s: downloaded and verified", pin.path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recommenders.download", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--dest", default="data", help="data folder to fill (then set TIE_DATA_DIR to it)"
    )
    parser.add_argument(
        "--base-url", help="fetch <base-url>/<path> instead of the pinned upstream URLs"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        for pin in PINNED:
            fetch(pin, Path(args.dest), args.base_url)
    except DataError as exc:
        log.error("error: %s", exc)
        return 2
    print(f"done: export TIE_DATA_DIR={Path(args.dest).resolve()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
