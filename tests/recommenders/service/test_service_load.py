"""≥ 1,000 mixed requests from 16 clients against a real uvicorn: zero errors, bounded time."""

from benchmarks.service_load import percentile, run_load


def test_a_thousand_mixed_requests_are_all_answered_as_due(live_server):
    result = run_load(live_server, requests=1000, concurrency=16, seed=0, text=True, timeout=30)
    assert result.count == 1000
    assert result.errors == []
    assert {"ids", "search", "text", "layer", "model", "bad"} <= set(result.latencies)
    assert percentile(result.latencies["ids"], 50) < 1000  # ms: a sanity bound, not a benchmark


def test_concurrent_forecasts_equal_serial_ones(live_server):
    import asyncio

    import httpx

    bodies = [
        {"techniques": [t, "T1059.001"], "k": 10} for t in ("T1566.001", "T1105", "T1078", "T1486")
    ]

    async def many() -> list[list[str]]:
        async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
            responses = await asyncio.gather(
                *(client.post("/api/forecast", json=b) for b in bodies * 8)
            )
        return [[p["technique"] for p in r.json()["forecast"]] for r in responses]

    together = asyncio.run(many())
    alone = [
        [
            p["technique"]
            for p in httpx.post(f"{live_server}/api/forecast", json=b).json()["forecast"]
        ]
        for b in bodies
    ]
    assert together == alone * 8
