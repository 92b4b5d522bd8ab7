"""Cold start of a whole process: import, make and one step, against CartPole-v1 in the same run.

Every `SubprocVecEnv` worker pays this again, so it is a property of the environment, not of the
machine's patience. Each row is a fresh Python process (best of 5 for time, its peak RSS).
Target (issue 11): the default env ≤ 1.0 s and ≤ 150 MB on the 2-core development machine.
Run: python -m benchmarks.cold_start
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from benchmarks.timing import write_table

REPORT = (
    ";import sys, json; rollup = open('/proc/self/smaps_rollup').read().split();"
    "anon = int(rollup[rollup.index('Anonymous:') + 1]) / 1024;"
    "print(json.dumps(['torch' in sys.modules, anon]))"
)
"""Appended to each program: whether torch was imported, and the process's anonymous memory (MB).

Peak RSS also counts the pages of shared libraries (numba's LLVM is ~115 MB of them); those sit in
the page cache once for all `SubprocVecEnv` workers, while anonymous memory is what each extra
worker really adds."""

PROGRAMS = {
    "CartPole-v1": "import gymnasium as gym; e = gym.make('CartPole-v1'); e.reset(seed=0); e.step(0)",
    "numba import alone": "import numba",
    "TIE-Forecast-v0 (shipped EASE)": (
        "import numpy as np, gymnasium as gym, tie_gym; e = gym.make('TIE-Forecast-v0');"
        "e.reset(seed=0); e.step(np.zeros(e.unwrapped.n_techniques, np.float32))"
    ),
}


def measure(program: str, repeats: int = 5) -> tuple[float, float, float, str]:
    """(best seconds, median and largest peak RSS in MB, the program's stdout) over `repeats`
    runs under GNU time, after one untimed run: a first run compiles numba's kernels into its
    on-disk cache, which a later process only loads (it peaked 30 MB higher)."""
    best, peaks, out = float("inf"), [], ""
    subprocess.run([sys.executable, "-c", program], capture_output=True, check=True)
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", sys.executable, "-c", program + REPORT],
            capture_output=True,
            text=True,
            check=True,
        )
        best = min(best, time.perf_counter() - start)
        peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)  # KiB
        out = done.stdout.strip()
    return best, statistics.median(peaks), max(peaks), out


def main() -> None:
    import numba

    rows, measured = [], {}
    for name, program in PROGRAMS.items():
        seconds, median, largest, out = measure(program)
        torch, anonymous = json.loads(out)
        measured[name] = (seconds, median, anonymous)
        rows.append(
            [
                name,
                f"{seconds:.2f}",
                f"{median:.0f} ({largest:.0f})",
                f"{anonymous:.0f}",
                "yes" if torch else "no",
            ]
        )
    env_seconds, env_peak, env_anonymous = measured["TIE-Forecast-v0 (shipped EASE)"]
    numba_peak = measured["numba import alone"][1]
    verdict = "meets" if env_seconds <= 1.0 and env_peak <= 150 else "misses"
    path = write_table(
        "cold_start",
        "Cold start: import + make + one step, whole process",
        [
            "program",
            "seconds (best of 5)",
            "peak MB, median (largest) of 5",
            "anonymous MB",
            "torch imported",
        ],
        rows,
        [
            f"numba {numba.__version__}. The default env {verdict} the issue's target (≤ 1.0 s and "
            f"≤ 150 MB): {env_seconds:.2f} s, {env_peak:.0f} MB, of which importing numba alone "
            f"takes {numba_peak:.0f} MB. Most of that is LLVM's shared library: file pages, in the "
            "page cache once for every worker of a SubprocVecEnv; anonymous memory "
            f"({env_anonymous:.0f} MB) is what each extra worker adds. Peak RSS of the same "
            "program varied by tens of MB between sessions on this machine.",
            "Without numba a single env's step would rank in NumPy, 9.4 µs against the compiled "
            "0.85 µs on 580 techniques (a step costs ~8 µs), about halving the single env's rate; "
            "the memory target is traded for that speed.",
        ],
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
