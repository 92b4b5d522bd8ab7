"""A loaded recommender (and text mapper) that forecasts from IDs, incident text or a flow.

The CLI and the service both hold one `Forecaster`, built once from trusted paths (never from a
request), so that every front door forecasts, explains and looks techniques up the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommenders.artifacts import ModelManifest, load_model, resolve_model_dir
from recommenders.attack import (
    ReleaseMap,
    Tactic,
    Technique,
    TechniqueCatalog,
    load_catalog,
    map_release,
)
from recommenders.errors import DataError
from recommenders.forecast import (
    Forecast,
    Prediction,
    attack_catalog,
    default_model,
    forecast,
    given_ids,
    model_release,
    navigator_attack_version,
    observed_techniques,
)
from recommenders.models import Recommender
from recommenders.unseen import UnseenTechniques, load_unseen

if TYPE_CHECKING:
    from recommenders.flows import Flow
    from recommenders.text.mapper import DocumentMapping, TextMapper


def manifest_catalog(manifest: ModelManifest) -> TechniqueCatalog:
    """A catalog of the model's own techniques (names and tactics from its manifest): what
    reading a flow needs when no ATT&CK bundle is at hand."""
    techniques = {
        t: Technique(
            t,
            manifest.technique_names.get(t, ""),
            tuple(manifest.technique_tactics.get(t, ())),
            "active",
        )
        for t in manifest.technique_ids
    }
    tactics = tuple(Tactic("", s, s.replace("-", " ").title()) for s in manifest.tactic_order)
    return TechniqueCatalog(techniques, tactics, source=model_release(manifest))


@dataclass
class Forecaster:
    """One recommender, its manifest and ATT&CK catalog, and an optional text mapper."""

    model: Recommender
    manifest: ModelManifest
    model_dir: Path
    catalog: TechniqueCatalog
    """The model's ATT&CK bundle when a data folder holds it, else `manifest_catalog`."""
    text_mapper: TextMapper | None = None
    text_model_dir: Path | None = None
    data_dir: str | None = None
    release: ReleaseMap | None = None
    """The user's ATT&CK release when it is not the model's: IDs in and out are theirs, and so
    are names, tactics and the matrix (`catalog` is then their release's)."""
    unseen: UnseenTechniques | None = None
    """The catalog's techniques the model has no column for, when its folder scores them."""

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        text_model: str | Path | None = None,
        data_dir: str | None = None,
        require_text: bool = False,
        attack: str | Path | None = None,
    ) -> Forecaster:
        """Load the recommender (`default_model()` when None), the text mapper
        (`text_model_dir`: the given folder, $TIE_TEXT_MODEL, runs/text, else none unless
        `require_text`) and, when `attack` names the user's ATT&CK bundle, the map from the
        model's release to it (`ReleaseMap`)."""
        model_dir = resolve_model_dir(model or default_model()).absolute()
        recommender, manifest = load_model(model_dir)
        mapper, text_dir = None, None
        try:
            from recommenders.text.mapper import TextMapper, text_model_dir

            text_dir = text_model_dir(text_model)
            mapper = TextMapper.load(text_dir)
        except (DataError, ImportError):
            if require_text or text_model is not None:
                raise
            text_dir = None
        catalog = attack_catalog(manifest, data_dir) or manifest_catalog(manifest)
        release = None
        if attack is not None:
            catalog = load_catalog(attack)
            release = map_release(manifest.technique_ids, catalog)
        unseen = load_unseen(model_dir, manifest.technique_ids)
        return cls(
            recommender, manifest, model_dir, catalog, mapper, text_dir, data_dir, release, unseen
        )

    def from_ids(self, given: Any, k: int = 10, what: str = "techniques") -> Forecast:
        """Forecast from technique IDs (normalised by `observed_techniques`), of the user's
        release when one is set."""
        if self.release is None:
            observed = observed_techniques(given, self.manifest, self.data_dir, what=what)
            return forecast(
                self.model, self.manifest, observed.usable, k, observed.ignored, unseen=self.unseen
            )
        if isinstance(given, str | bytes) or not isinstance(given, list | tuple):
            observed_techniques(given, self.manifest, what=what)  # raises its one-line error
        columns, ignored = self._model_ids(given)
        if not columns:
            reasons = "; ".join(f"{t!r}: {why}" for t, why in ignored.items()) or "none given"
            raise ValueError(f"{what}: no usable technique ID ({reasons})")
        observed = observed_techniques(columns, self.manifest, self.data_dir, what=what)
        extra = len(self.release.unmapped)  # forecast enough to fill k after dropping those
        result = forecast(self.model, self.manifest, observed.usable, k + extra, unseen=self.unseen)
        return self._in_release(result, {**ignored, **observed.ignored}, k)

    def _model_ids(self, given: Any) -> tuple[list[str], dict[str, str]]:
        """The user's IDs → the model's, and why the others have none."""
        assert self.release is not None
        ours = model_release(self.manifest)
        columns: list[str] = []
        ignored: dict[str, str] = {}
        for item in given:
            if not isinstance(item, str):
                ignored[str(item)] = f"not a technique ID string ({type(item).__name__})"
                continue
            user_id, why = self.release.user_id(item, self.catalog)
            if user_id is None:
                ignored[item.strip()] = why
            elif user_id not in self.release.to_model:
                ignored[item.strip()] = (
                    f"in {ours} but in no training report: the model has no column for it"
                    if self.unseen is not None and user_id in self.unseen.techniques
                    else f"new in {self.release.release}: the model ({ours}) has no column for it"
                )
            else:
                columns += [t for t in self.release.to_model[user_id] if t not in columns]
        return columns, ignored

    def _in_release(self, result: Forecast, ignored: dict[str, str], k: int) -> Forecast:
        """A forecast in the model's IDs → the user's: IDs, names and tactics of their release;
        techniques with no counterpart dropped, two model IDs of one user ID kept once."""
        assert self.release is not None
        to_user = self.release.to_user
        observed = tuple(dict.fromkeys(to_user[t] for t in result.observed if t in to_user))
        given = given_ids(ignored)
        predictions: list[Prediction] = []
        for p in result.predictions:
            user_id = to_user.get(p.technique)
            if p.unseen:  # scored from ATT&CK: the same ID when the user's release has it
                active = self.catalog.techniques.get(p.technique)
                user_id = p.technique if active and active.status == "active" else None
            if (
                user_id is None
                or user_id in observed
                or user_id in given
                or any(q.technique == user_id for q in predictions)
            ):
                continue
            entry = self.catalog.techniques[user_id]
            shares: dict[str, float] = {}
            for t, share in p.because:  # two model IDs of one user ID: one reason, their sum
                shares[to_user.get(t, t)] = shares.get(to_user.get(t, t), 0.0) + share
            because = tuple(sorted(shares.items(), key=lambda item: -item[1]))
            predictions.append(
                replace(
                    p,
                    rank=len(predictions) + 1,
                    technique=user_id,
                    name=entry.name,
                    tactics=entry.tactics,
                    because=because,
                    like=tuple(dict.fromkeys(to_user[t] for t in p.like if t in to_user)),
                )
            )
            if len(predictions) == k:
                break
        return Forecast(observed, tuple(predictions), result.explanation, ignored, result.note)

    def from_text(
        self, text: str | bytes, k: int = 10, threshold: float | None = None
    ) -> tuple[DocumentMapping, Forecast | None]:
        """Techniques found in incident text (with evidence and IoCs), and the forecast from
        them (None when none was found)."""
        if self.text_mapper is None:
            from recommenders.text.mapper import text_model_dir

            text_model_dir(None)  # raises the DataError that says how to get a text model
        assert self.text_mapper is not None
        mapping = self.text_mapper.map_text(text, threshold=threshold)
        if not mapping.techniques:
            return mapping, None
        return mapping, self.from_ids(
            mapping.technique_ids(), k, what="the techniques found in the text"
        )

    def from_flow(self, payload: Any, source: str, k: int = 10) -> tuple[Flow, Forecast]:
        """What comes after an Attack Flow (`.afb` or STIX bundle, already parsed JSON): its
        techniques are the observed set."""
        from recommenders.flows import flow_from_payload

        flow = flow_from_payload(payload, source, self.catalog)
        if not flow.techniques:
            raise DataError(
                source,
                "technique_id",
                "the flow names no ATT&CK technique",
                "draw actions with ATT&CK technique IDs (e.g. T1059.001)",
            )
        # those the model has no column for are reported in `ignored`, not dropped unsaid
        return flow, self.from_ids(list(flow.techniques), k, what=f"the techniques of {source}")

    def technique(self, technique_id: str) -> dict[str, Any] | None:
        """One technique as the page and the API show it, or None when the catalog lacks it."""
        entry = self.catalog.techniques.get(technique_id.strip().upper())
        if entry is None:
            return None
        return {
            "id": entry.id,
            "name": entry.name,
            "tactics": list(entry.tactics),
            "status": entry.status,
            "revoked_by": entry.revoked_by,
            "in_model": entry.id in self.vocabulary
            if self.release is None
            else entry.id in self.release.to_model,
        }

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Techniques whose ID starts with, or whose name contains, `query` (case-insensitive);
        the model's own techniques first."""
        needle = query.strip().lower()
        hits = [
            t
            for t in self.catalog.techniques.values()
            if t.status == "active"
            and (t.id.lower().startswith(needle) or needle in t.name.lower())
        ]
        hits.sort(
            key=lambda t: (t.id not in self.vocabulary, not t.id.lower().startswith(needle), t.id)
        )
        return [self.technique(t.id) for t in hits[:limit]]  # type: ignore[misc]

    @property
    def names(self) -> dict[str, str]:
        """Technique names as the user reads them: their release's with --attack, else the
        model's."""
        if self.release is None:
            return self.manifest.technique_names
        return {t: e.name for t, e in self.catalog.techniques.items()}

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.manifest.technique_ids)

    def navigator_layer(self, result: Forecast) -> dict[str, Any]:
        if self.release is not None and self.catalog.version:
            return result.navigator_layer(self.catalog.version.split(".")[0])
        return result.navigator_layer(navigator_attack_version(self.manifest))

    def matrix(self) -> list[dict[str, Any]]:
        """The ATT&CK matrix of the model's techniques: tactics in kill-chain order, each with
        its (parent) techniques, for a heat-map."""
        columns = []
        if self.release is None:
            tactics_of = {
                t: self.manifest.technique_tactics.get(t, ()) for t in self.manifest.technique_ids
            }
        else:  # the user's release: its tactics, its IDs
            tactics_of = {t: self.catalog.techniques[t].tactics for t in self.release.to_model}
        for tactic in self.catalog.tactics:
            members = sorted(t for t, tactics in tactics_of.items() if tactic.shortname in tactics)
            columns.append({"tactic": tactic.shortname, "name": tactic.name, "techniques": members})
        return columns

    def info(self) -> dict[str, Any]:
        """What model answers: family, vocabulary, ATT&CK release, test metrics, text model."""
        metrics = self.manifest.metrics or {}
        mapper = self.text_mapper
        return {
            "model": {
                "family": self.manifest.family,
                "name": self.manifest.name,
                "hyperparameters": self.manifest.hyperparameters,
                "techniques": len(self.manifest.technique_ids),
                "unseen_techniques": 0 if self.unseen is None else len(self.unseen.techniques),
                "attack_release": model_release(self.manifest),
                "metrics": metrics,
                "explanation": "exact"
                if type(self.model).contributions is not Recommender.contributions
                else "leave-one-out",
            },
            "text_model": None
            if mapper is None
            else {"labels": len(mapper.labels), "threshold": mapper.threshold},
            "catalog": self.catalog.source,
            "release": None if self.release is None else self.release.report(),
        }
