"""Load test of `tie-gym serve`: mixed requests from concurrent clients against a real uvicorn.

The mix is what the page sends: forecasts from technique IDs (50%), technique searches (20%),
incident text (15%), Navigator layers (10%) and model info (5%), plus a share of bad requests
(unknown IDs, k out of range) that must come back 4xx, never 5xx. Requests are bounded in
count and each in time (`timeout`); the result is the latency distribution per kind and the
errors (a 5xx, a timeout, a dropped connection, or a 4xx where a 2xx was due).

Run: python -m benchmarks.service_load [--requests 2000 --concurrency 16]
(starts its own server with the shipped recommender; `--text-model` adds text requests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from benchmarks.timing import write_table

TEXTS = (
    "The actor ran mimikatz against lsass, then used schtasks to keep access.",
    "A spearphishing attachment launched PowerShell that downloaded a second stage from "
    "hxxp://evil[.]example/a.ps1 and created a scheduled task.",
)
IDS = ("T1566.001", "T1059.001", "T1105", "T1053.005", "T1003.001", "T1021.001", "T1078", "T1486")


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    """Kind → seconds per request."""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def plan(requests: int, seed: int, text: bool) -> list[tuple[str, str, str, Any, int]]:
    """(kind, method, path, json body, expected status) for each request, seeded."""
    rng = np.random.default_rng(seed)
    kinds = ["ids", "search", "text", "layer", "model", "bad"]
    weights = np.array([0.45, 0.2, 0.15 if text else 0.0, 0.1, 0.05, 0.05])
    out = []
    for kind in rng.choice(kinds, size=requests, p=weights / weights.sum()):
        chosen = [str(t) for t in rng.choice(IDS, size=int(rng.integers(1, 5)), replace=False)]
        if kind == "ids":
            out.append((kind, "POST", "/api/forecast", {"techniques": chosen, "k": 10}, 200))
        elif kind == "search":
            query = str(rng.choice(["T1059", "phish", "credential", "T15", "schedul"]))
            out.append((kind, "GET", f"/api/techniques?q={query}", None, 200))
        elif kind == "text":
            out.append((kind, "POST", "/api/forecast/text", {"text": str(rng.choice(TEXTS))}, 200))
        elif kind == "layer":
            out.append((kind, "POST", "/api/navigator", {"techniques": chosen, "k": 20}, 200))
        elif kind == "model":
            out.append((kind, "GET", "/api/model", None, 200))
        else:
            body = (
                {"techniques": ["T9999"]} if rng.random() < 0.5 else {"techniques": chosen, "k": 0}
            )
            out.append((kind, "POST", "/api/forecast", body, 400 if "k" not in body else 422))
    return out


async def _run(
    url: str, requests: list[tuple[str, str, str, Any, int]], concurrency: int, timeout: float
) -> LoadResult:
    result = LoadResult()
    queue: asyncio.Queue[tuple[str, str, str, Any, int]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                kind, method, path, body, expected = queue.get_nowait()
                start = time.perf_counter()
                try:
                    response = await client.request(method, path, json=body)
                    if response.status_code != expected:
                        result.errors.append(
                            f"{kind} {path}: {response.status_code} {response.text[:120]}"
                        )
                except httpx.HTTPError as exc:
                    result.errors.append(f"{kind} {path}: {type(exc).__name__}")
                result.latencies.setdefault(kind, []).append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - start
    return result


def run_load(
    url: str,
    requests: int = 1000,
    concurrency: int = 16,
    seed: int = 0,
    text: bool = True,
    timeout: float = 30.0,
) -> LoadResult:
    """Send `requests` mixed requests from `concurrency` clients; every request is awaited."""
    return asyncio.run(_run(url, plan(requests, seed, text), concurrency, timeout))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.service_load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--text-model", help="serve this text mapper too (text requests)")
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "recommenders.service", "serve", "--port", str(args.port)]
    if args.text_model:
        command += ["--text-model", args.text_model]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/api/model", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        run_load(url, 50, 4, seed=1, text=bool(args.text_model))  # warm-up, not counted
        result = run_load(url, args.requests, args.concurrency, text=bool(args.text_model))
    finally:
        server.terminate()
        server.wait(timeout=10)
    rows = []
    everything = [v for values in result.latencies.values() for v in values]
    for kind, values in [*sorted(result.latencies.items()), ("all", everything)]:
        rows.append(
            [
                kind,
                len(values),
                f"{percentile(values, 50):.1f}",
                f"{percentile(values, 99):.1f}",
                f"{max(values) * 1000:.1f}",
            ]
        )
    notes = [
        f"{result.count} requests from {args.concurrency} concurrent clients in {result.seconds:.1f} s "
        f"({result.count / result.seconds:.0f} requests/s), one uvicorn process on 127.0.0.1; "
        f"errors: {len(result.errors)} (a 5xx, a timeout, a dropped connection or an unexpected status).",
        "`bad` are requests that must be refused (unknown IDs → 400, k = 0 → 422): refused as due, "
        "they count as answered, not as errors.",
        "Text: "
        + (
            "the mapper of " + args.text_model
            if args.text_model
            else "no text model served, no text requests"
        )
        + ".",
        f"Command: python -m benchmarks.service_load --requests {args.requests} --concurrency {args.concurrency}"
        + (f" --text-model {args.text_model}" if args.text_model else ""),
    ]
    if result.errors:
        notes.append("First errors: " + "; ".join(result.errors[:5]))
    path = write_table(
        "service_load",
        "tie-gym serve under load (latency in ms)",
        ["kind", "requests", "p50", "p99", "max"],
        rows,
        notes,
    )
    print(path.read_text())
    print(
        "median of medians",
        statistics.median(statistics.median(v) for v in result.latencies.values()),
    )


if __name__ == "__main__":
    main()
