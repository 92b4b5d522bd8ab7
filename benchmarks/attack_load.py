"""Load time of the ATT&CK Enterprise bundle: our lean STIX reader vs `mitreattack-python`.

`mitreattack-python` is optional here (not a dependency); install it to get its row.
Run: python -m benchmarks.attack_load
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.timing import best_of, write_table
from recommenders.attack import load_catalog
from recommenders.data import default_attack_path, resolve_data_dir


def main() -> None:
    bundle = default_attack_path(resolve_data_dir(os.environ.get("TIE_DATA_DIR")))
    lean = best_of(lambda: load_catalog(bundle))
    rows = [["lean STIX reader (recommenders.attack)", f"{lean:.2f}", "1.0×"]]
    try:
        from mitreattack.stix20 import MitreAttackData
    except ImportError:
        rows.append(["mitreattack-python", "not installed", "—"])
    else:

        def mitre() -> None:
            data = MitreAttackData(str(bundle))
            data.get_techniques(remove_revoked_deprecated=False)

        theirs = best_of(mitre, repeats=1)
        rows.append(
            [
                "mitreattack-python MitreAttackData + get_techniques",
                f"{theirs:.2f}",
                f"{theirs / lean:.1f}×",
            ]
        )
    path = write_table(
        "attack_load",
        "ATT&CK v15.0 bundle load time",
        ["reader", "seconds", "vs lean"],
        rows,
        [f"Bundle: {Path(bundle).name}. Best of 3 (lean) / 1 (mitreattack-python)."],
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
