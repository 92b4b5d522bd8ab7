"""Replay: real reports of the corpus as campaigns, from the split the model was trained under.

A replayed report is a set; it is revealed in a stated order (kill-chain or random), never in an
order of its own (`ordering.py`).
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from recommenders.artifacts import ModelManifest
from recommenders.errors import DataError
from tie_gym.adversary.campaign import Campaign
from tie_gym.adversary.ordering import Arranger, Order


class ReportReplay:
    """The reports of a model's training corpus, read on first use from `data_dir` or
    `TIE_DATA_DIR` (`recommenders.data.trained_split_reports` checks them against the model)."""

    def __init__(self, manifest: ModelManifest, data_dir: str | None, arranger: Arranger) -> None:
        self.manifest = manifest
        self.data_dir = data_dir
        self.arrange = arranger

    @cached_property
    def reports(self) -> dict[str, list[tuple[str, np.ndarray]]]:
        """ "test": the model's held-out test reports; "train": every other one with ≥ 2
        techniques; each as (report ID, sorted technique columns)."""
        from recommenders.data import trained_split_reports

        split, data = self.manifest.split, self.manifest.data
        if split is None or not split.test_report_ids or data is None:
            raise DataError(
                self.manifest.path,
                "split.test_report_ids",
                "this artifact records no test split",
                "train it with `python -m recommenders.train`, which records one",
            )
        root = self.data_dir or os.environ.get("TIE_DATA_DIR")
        if not root:
            raise DataError(
                None,
                "TIE_DATA_DIR",
                "the TIE corpus (for replayed reports, or an agent fitted on the training reports) is needed and no data folder was given",
                "set TIE_DATA_DIR (or pass data_dir=) to the folder holding tie/ and attack/",
            )
        return trained_split_reports(root, data, split, self.manifest.technique_ids)

    def draw(
        self, rng: np.random.Generator, order: Order = "killchain", split: str = "test"
    ) -> Campaign:
        """A uniformly drawn report of a split, in the chosen order ("model" is undefined here)."""
        if order == "model":
            raise ValueError(
                'replayed reports have no model order: use order="killchain" or "random"'
            )
        if split not in ("test", "train"):
            raise ValueError(f'split must be "test" or "train", got {split!r}')
        reports = self.reports[split]
        rid, columns = reports[int(rng.integers(len(reports)))]
        return Campaign(self.arrange(rng, columns, order), rid)
