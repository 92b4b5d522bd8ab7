"""Latency of the shipped text model: a 1,000-word report, warm and from a cold process.

Targets (issue 15): a 1,000-word report maps in < 1 s on one core with the shipped model; cold
start (a fresh Python: import, load, first report) < 3 s. The report is TRAM's longest
multi-label report cut to 1,000 words when the data folder is there, else a synthetic incident
summary with defanged indicators. Each cold row is a fresh process (best of 5); warm rows are
the best of 5 calls in one process. One thread everywhere.

Run: python -m benchmarks.text_latency
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.timing import write_table

SYNTHETIC = (
    "The actor sent a spearphishing attachment that ran a macro. The macro launched PowerShell "
    "with an encoded command and downloaded a loader from hxxp://update-check[.]example/a.ps1. "
    "The loader created a scheduled task for persistence and injected into explorer.exe. "
    "They dumped credentials from lsass with mimikatz and moved laterally over RDP to 10.0.0.5 "
    "and 198.51.100[.]7, then staged data in an archive and exfiltrated it over the C2 channel. "
)


def report_text(words: int = 1000) -> str:
    """A report of `words` words: TRAM's longest report, or the synthetic summary repeated."""
    root = os.environ.get("TIE_DATA_DIR")
    if root:
        try:
            from recommenders.attack import load_catalog
            from recommenders.data import default_attack_path
            from recommenders.text.corpus import load_text_corpus

            corpus = load_text_corpus(root, load_catalog(default_attack_path(root)))
            longest = max(corpus.documents(), key=lambda t: len(corpus.sentences_of([t])))
            text = " ".join(s.text for s in corpus.sentences_of([longest]))
            return " ".join(text.split()[:words])
        except (OSError, ValueError):
            pass
    text = ""
    while len(text.split()) < words:
        text += SYNTHETIC
    return " ".join(text.split()[:words])


COLD = """
import time; start = time.perf_counter()
from recommenders.text.mapper import TextMapper, text_model_dir
mapper = TextMapper.load(text_model_dir(None))
loaded = time.perf_counter()
found = mapper.map_text(open({path!r}).read())
done = time.perf_counter()
import json; print(json.dumps([loaded - start, done - start, len(found.techniques)]))
"""


def main() -> None:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.pop("TIE_TEXT_MODEL", None)
    text = report_text()
    handle, path = tempfile.mkstemp(suffix=".txt", prefix="tie-text-latency-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    cold = []
    for _ in range(5):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD.format(path=path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=tempfile.gettempdir(),
        )
        wall = time.perf_counter() - start
        load, first, found = json.loads(out.stdout.strip().splitlines()[-1])
        cold.append((wall, load, first, found))
    from recommenders.text.mapper import TextMapper, text_model_dir

    folder = text_model_dir(None)
    mapper = TextMapper.load(folder)
    warm = []
    for _ in range(5):
        start = time.perf_counter()
        mapper.map_text(text)
        warm.append(time.perf_counter() - start)
    best = min(cold)
    size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    rows = [
        [
            "warm: map a report (one process)",
            f"{min(warm):.3f}",
            "< 1 s",
            "met" if min(warm) < 1 else "NOT met",
        ],
        [
            "cold: python start + import + load + first report",
            f"{best[0]:.3f}",
            "< 3 s",
            "met" if best[0] < 3 else "NOT met",
        ],
        ["  of which import + load (in process)", f"{best[1]:.3f}", "", ""],
        ["  of which import + load + first report (in process)", f"{best[2]:.3f}", "", ""],
    ]
    notes = [
        f"Report: {len(text.split())} words ({'TRAM' if os.environ.get('TIE_DATA_DIR') else 'synthetic'}); "
        f"{best[3]} techniques found. Model: {folder.name} ({size:.1f} MB on disk). One thread; best of 5.",
        "Command: python -m benchmarks.text_latency",
    ]
    print(
        write_table(
            "text_latency",
            "Shipped text model: latency (seconds)",
            ["what", "seconds", "target", "verdict"],
            rows,
            notes,
        ).read_text()
    )


if __name__ == "__main__":
    main()
