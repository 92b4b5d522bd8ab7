import os
import subprocess
import sys


def test_without_a_data_folder_it_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TIE_DATA_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "recommenders.build_default"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TIE_DATA_DIR:"), done.stderr
