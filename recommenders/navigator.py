"""ATT&CK Navigator layer export, so a forecast can be opened on the familiar matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recommenders.jsonio import write_json

# Navigator layer format 4.5 (Navigator 4.9+), documented in mitre-attack/attack-navigator.
LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "4.9.1"


def forecast_layer(
    observed: list[str],
    predicted: list[tuple[str, float]],
    attack_version: str = "15",
    name: str = "tie-gym forecast",
) -> dict[str, Any]:
    """Observed techniques in blue (score 100), predicted ones graded by their rank score.

    Args:
        observed: technique IDs already seen.
        predicted: (technique ID, score in [0, 1]) of the forecast, best first.
    """
    techniques = [
        {"techniqueID": t, "score": 100, "color": "#4a90d9", "comment": "observed", "enabled": True}
        for t in observed
    ]
    techniques += [
        {
            "techniqueID": t,
            "score": round(99 * float(score), 2),
            "comment": f"forecast rank {rank}",
            "enabled": True,
        }
        for rank, (t, score) in enumerate(predicted, start=1)
    ]
    return {
        "name": name,
        "versions": {
            "attack": attack_version,
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": "Observed techniques (blue) and the recommender's forecast of what comes next (graded).",
        "techniques": techniques,
        "gradient": {"colors": ["#fff7bc", "#fec44f", "#d95f0e"], "minValue": 0, "maxValue": 99},
        "legendItems": [{"label": "observed", "color": "#4a90d9"}],
        "hideDisabled": False,
    }


def write_layer(path: str | Path, layer: dict[str, Any]) -> None:
    """Atomically write a layer file."""
    write_json(path, layer)
