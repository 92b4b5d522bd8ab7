"""Recommender families, one file each, all behind the `Recommender` interface."""

from __future__ import annotations

from typing import Any

from recommenders.models.base import Recommender
from recommenders.models.bpr import BPR
from recommenders.models.ease import EASE
from recommenders.models.factorization import Factorization
from recommenders.models.implicit_models import ImplicitALS, ImplicitBPR
from recommenders.models.top_items import TopItems
from recommenders.models.wals import WALS

FAMILIES: dict[str, type[Recommender]] = {
    cls.family: cls for cls in (WALS, BPR, TopItems, Factorization, EASE, ImplicitALS, ImplicitBPR)
}


def make_model(family: str, **hparams: Any) -> Recommender:
    """Build a family by registry name, refusing unknown names and unknown hyperparameters."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; choose among {sorted(FAMILIES)}")
    try:
        return FAMILIES[family](**hparams)
    except TypeError as exc:
        raise ValueError(f"bad hyperparameters for {family!r}: {exc}") from exc


__all__ = ["FAMILIES", "Recommender", "make_model"]
