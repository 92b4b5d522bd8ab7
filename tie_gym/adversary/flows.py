"""Flow replay: Attack Flow incidents as campaigns, in the order the adversary really used them.

Each campaign is one seeded topological order of a flow's technique DAG (`recommenders.flows`),
restricted to the model's vocabulary, with the flow's *frontier* at every step: the techniques
that may come next given what has been revealed. Flows are read on first use from `flow_dir`,
or the data folder's `attack-flow/`, over the ATT&CK release the model was trained with.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from recommenders.artifacts import ModelManifest
from recommenders.errors import DataError
from recommenders.flows import Flow, flow_split, load_flows
from recommenders.forecast import attack_catalog
from tie_gym.adversary.campaign import Campaign
from tie_gym.adversary.ordering import Arranger, Order


class FlowReplay:
    """The flows of a folder, as campaigns over a model's vocabulary."""

    def __init__(
        self,
        manifest: ModelManifest,
        data_dir: str | None,
        arranger: Arranger,
        flow_dir: str | None = None,
        split: str = "all",
    ) -> None:
        self.manifest = manifest
        self.data_dir = data_dir
        self.flow_dir = flow_dir
        self.split = split
        self.arrange = arranger
        self.index = {t: i for i, t in enumerate(manifest.technique_ids)}

    @cached_property
    def flows(self) -> list[Flow]:
        """Flows of the split (`recommenders.flows.flow_split`; "all": every one) with at least two
        techniques of the model's vocabulary, sorted by file name."""
        root = self.data_dir or os.environ.get("TIE_DATA_DIR")
        folder = Path(self.flow_dir) if self.flow_dir else Path(root or ".") / "attack-flow"
        catalog = attack_catalog(self.manifest, self.data_dir)
        if not folder.is_dir():
            raise DataError(
                folder if self.flow_dir or root else None,
                "flows" if self.flow_dir else None if root else "TIE_DATA_DIR",
                "flow replay needs a folder of Attack Flow files (.afb or STIX .json)"
                + ("" if self.flow_dir or root else ", and neither flows= nor TIE_DATA_DIR is set"),
                "pass flows= a folder of flows, or set TIE_DATA_DIR (or data_dir=) to the folder "
                "holding attack-flow/",
            )
        if catalog is None:
            release = self.manifest.data.attack_file if self.manifest.data else "its ATT&CK bundle"
            raise DataError(
                folder,
                None,
                f"reading flows needs the ATT&CK bundle the model was trained with ({release}), "
                "to follow revoked IDs and name tactics, and no data folder holds it",
                f"set TIE_DATA_DIR (or data_dir=) to a folder with attack/{release}; "
                "`python -m recommenders.download --dest data` fetches it",
            )
        usable = [
            flow
            for flow in load_flows(folder, catalog).flows
            if sum(t in self.index for t in flow.techniques) >= 2
            and self.split in ("all", flow_split(flow.name))
        ]
        if not usable:
            side = "" if self.split == "all" else f" in flow_split={self.split!r}"
            raise DataError(
                folder,
                None,
                f"no flow{side} has two techniques of the model's vocabulary",
                "add flows" + ("" if self.split == "all" else ', or use flow_split="all"'),
            )
        return usable

    def campaign(self, flow: Flow, rng: np.random.Generator, order: Order = "flow") -> Campaign:
        """One flow as a campaign. In the flow's own order each step carries its frontier; an
        imposed order ("killchain", "random", "learned") has none (its prefixes need not be the flow's).

        Techniques outside the vocabulary are left out of the campaign but still count as done
        for the frontier: the adversary used them, the model just cannot name them."""
        full = flow.campaign(rng)
        kept = [step for step, t in enumerate(full) if t in self.index]
        columns = np.array([self.index[full[step]] for step in kept], dtype=np.int64)
        if order != "flow":
            return Campaign(self.arrange(rng, np.sort(columns), order), flow.name)
        frontiers = tuple(
            np.array(
                [self.index[t] for t in flow.frontier(full[:step]) if t in self.index],
                dtype=np.int64,
            )
            for step in kept
        )
        return Campaign(columns, flow.name, frontiers)

    def draw(self, rng: np.random.Generator, order: Order = "flow") -> Campaign:
        """A uniformly drawn flow in one seeded order."""
        return self.campaign(self.flows[int(rng.integers(len(self.flows)))], rng, order)
