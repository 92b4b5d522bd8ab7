"""ATT&CK Enterprise STIX bundle → technique catalog (id, name, tactics, parent, status).

A lean reader of the STIX JSON rather than `mitreattack-python`: the catalog needs five fields per
technique, and reading the bundle directly is an order of magnitude faster to load
(`benchmarks/attack_load.py` measures both).

The release (`TechniqueCatalog.version`) comes from the bundle where the bundle records it: the
`x-mitre-collection` object's `x_mitre_version` (attack-stix-data's STIX 2.1 bundles). mitre/cti's
STIX 2.0 bundles (the pinned v15.0, the shared v18.1) record no release: the matrix's
`x_mitre_version` is the matrix object's own version ("1.0" in both) and `x_mitre_attack_spec_version`
is the STIX-extension spec (2.1.0-3.3.0). There the file name gives it, checked against what the
objects do carry: their `modified` times, none of which can postdate the release they belong to.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from recommenders.errors import DataError
from recommenders.jsonio import read_json, sha256_file

log = logging.getLogger(__name__)

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
RELEASE_IN_NAME = re.compile(r"enterprise-attack-v?(\d+\.\d+)\.json(\.gz)?$")
"""`enterprise-attack-15.0.json(.gz)`: the release a file name claims."""

NEWEST_MODIFIED = {"15.0": "2024-04-22T13:50:14", "18.1": "2025-11-12T22:03:39"}
"""Newest object `modified` time (UTC, to the second) in official releases, measured on the pinned
v15.0 bundle and the shared v18.1 one: a bundle holding a later object is a later release."""

Status = Literal["active", "revoked", "deprecated", "unknown", "not-enterprise"]


@dataclass(frozen=True)
class Tactic:
    """One column of the Enterprise matrix, e.g. `TA0002 execution`."""

    id: str
    shortname: str
    name: str


@dataclass(frozen=True)
class Technique:
    """One technique or sub-technique as the bundle describes it."""

    id: str
    name: str
    tactics: tuple[str, ...]
    """Tactic shortnames from `kill_chain_phases`, in the matrix's tactic order."""
    status: Status
    description: str = ""
    revoked_by: str | None = None

    @property
    def parent(self) -> str | None:
        """Parent technique ID of a sub-technique (`T1059.001` → `T1059`), else None."""
        return self.id.split(".")[0] if "." in self.id else None


@dataclass(frozen=True)
class TechniqueCatalog:
    """Every technique of one ATT&CK Enterprise release, indexed by ID."""

    techniques: dict[str, Technique]
    tactics: tuple[Tactic, ...]
    source: str = ""
    sha256: str = ""
    version: str | None = None
    """ATT&CK release, e.g. "15.0"; None when neither the bundle nor its file name says."""
    version_source: str = ""
    """Where `version` came from: "x-mitre-collection", "file name" or "unknown"."""
    _tactic_rank: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tactic_rank.update({t.shortname: i for i, t in enumerate(self.tactics)})

    @property
    def tactic_order(self) -> tuple[str, ...]:
        """Tactic shortnames in kill-chain (matrix) order."""
        return tuple(t.shortname for t in self.tactics)

    def status(self, technique_id: str) -> Status:
        """Why an ID is usable or not: active, revoked, deprecated, unknown or not-enterprise."""
        if not TECHNIQUE_ID.match(technique_id):
            return "not-enterprise"
        technique = self.techniques.get(technique_id)
        return "unknown" if technique is None else technique.status

    def active_ids(self) -> list[str]:
        """Sorted IDs of techniques that may become matrix columns."""
        return sorted(t.id for t in self.techniques.values() if t.status == "active")

    def first_tactic_rank(self, technique_id: str) -> int:
        """Kill-chain position of a technique's earliest tactic (unknown tactics sort last)."""
        technique = self.techniques.get(technique_id)
        ranks = [
            self._tactic_rank.get(t, len(self.tactics))
            for t in (technique.tactics if technique else ())
        ]
        return min(ranks, default=len(self.tactics))


def _external_id(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack":
            return ref.get("external_id")
    return None


def _release(path: str | Path, objects: list[dict[str, Any]]) -> tuple[str | None, str]:
    """(release, where it came from); refuses a file name the bundle contradicts."""
    named = match.group(1) if (match := RELEASE_IN_NAME.search(Path(path).name)) else None
    collection = next((o for o in objects if o.get("type") == "x-mitre-collection"), None)
    if collection is not None:
        version = collection.get("x_mitre_version")
        if not isinstance(version, str) or not version:
            raise DataError(
                path,
                "x-mitre-collection.x_mitre_version",
                f"missing or not a string ({version!r})",
                "pass an unmodified ATT&CK bundle",
            )
        if named is not None and named != version:
            raise DataError(
                path,
                "x-mitre-collection.x_mitre_version",
                f"the bundle is ATT&CK {version} but its file name says {named}",
                f"rename the file to enterprise-attack-{version}.json, or pass the {named} bundle",
            )
        return version, "x-mitre-collection"
    if named is None:
        return None, "unknown"
    known = NEWEST_MODIFIED.get(named)
    times = [o["modified"][:19] for o in objects if isinstance(o.get("modified"), str)]
    newest = max(times, default="")
    if known is not None and newest > known:
        raise DataError(
            path,
            "modified",
            f"the file name says ATT&CK {named}, but objects were modified as late as "
            f"{newest[:10]}, after {named} was released (its newest object: {known[:10]}), so this "
            "is a later release",
            "rename the file to enterprise-attack-<its release>.json (see its release notes), "
            f"or pass the {named} bundle",
        )
    if known is not None and newest and newest < known:
        log.warning(
            "%s: the file name says ATT&CK %s, but its newest object (%s) predates that release's "
            "(%s): an older release or a subset; it is labelled %s as named",
            Path(path).name,
            named,
            newest[:10],
            known[:10],
            named,
        )
    return named, "file name"


def load_catalog(path: str | Path) -> TechniqueCatalog:
    """Read an Enterprise STIX 2.x bundle (`.json` or `.json.gz`) into a catalog.

    Revoked and deprecated techniques are kept with their status so that a dataset loader can say
    *why* it drops an ID; they never become columns.
    """
    bundle = read_json(path)
    if not isinstance(bundle, dict) or not isinstance(bundle.get("objects"), list):
        raise DataError(
            path,
            "objects",
            "not a STIX bundle (no list of objects)",
            "pass an ATT&CK Enterprise bundle such as enterprise-attack-15.0.json",
        )
    objects = bundle["objects"]
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise DataError(
                path,
                f"objects[{i}]",
                f"not a STIX object with a type (got {type(obj).__name__} {str(obj)[:40]})",
                "pass an unmodified ATT&CK Enterprise bundle",
            )
    version, version_source = _release(path, objects)
    by_stix_id = {o.get("id"): o for o in objects}
    matrices = [o for o in objects if o.get("type") == "x-mitre-matrix" and not o.get("revoked")]
    if not matrices:
        raise DataError(
            path,
            "objects",
            "no x-mitre-matrix object, so the tactic order is unknown",
            "pass the full Enterprise bundle, not a filtered subset",
        )
    enterprise = next(
        (m for m in matrices if "enterprise" in m.get("name", "").lower()), matrices[0]
    )
    tactics = []
    for ref in enterprise.get("tactic_refs", []):
        obj = by_stix_id.get(ref)
        if obj is None:
            continue
        tactics.append(
            Tactic(_external_id(obj) or "", obj["x_mitre_shortname"], obj.get("name", ""))
        )
    tactic_rank = {t.shortname: i for i, t in enumerate(tactics)}

    revoked_by: dict[str, str] = {}
    for obj in objects:
        if obj.get("type") == "relationship" and obj.get("relationship_type") == "revoked-by":
            target = by_stix_id.get(obj.get("target_ref"))
            if target is not None and (target_id := _external_id(target)):
                revoked_by[obj.get("source_ref")] = target_id

    techniques: dict[str, Technique] = {}
    for obj in objects:
        if obj.get("type") != "attack-pattern":
            continue
        technique_id = _external_id(obj)
        if technique_id is None or not TECHNIQUE_ID.match(technique_id):
            continue
        domains = obj.get("x_mitre_domains", ["enterprise-attack"])
        if "enterprise-attack" not in domains:
            continue
        status: Status = "active"
        if obj.get("revoked"):
            status = "revoked"
        elif obj.get("x_mitre_deprecated"):
            status = "deprecated"
        phases = obj.get("kill_chain_phases", [])
        tactic_names = sorted(
            {p["phase_name"] for p in phases if p.get("kill_chain_name") == "mitre-attack"},
            key=lambda name: tactic_rank.get(name, len(tactic_rank)),
        )
        technique = Technique(
            id=technique_id,
            name=obj.get("name", ""),
            tactics=tuple(tactic_names),
            status=status,
            description=obj.get("description", ""),
            revoked_by=revoked_by.get(obj["id"]),
        )
        previous = techniques.get(technique_id)
        # An ID can appear on a revoked object and on its live successor; the live one wins.
        if previous is None or (previous.status != "active" and status == "active"):
            techniques[technique_id] = technique
    if not techniques:
        raise DataError(
            path,
            "objects",
            "no Enterprise attack-pattern objects",
            "pass an ATT&CK Enterprise bundle (enterprise-attack-*.json)",
        )
    return TechniqueCatalog(
        techniques,
        tuple(tactics),
        source=Path(path).name,
        sha256=sha256_file(path),
        version=version,
        version_source=version_source,
    )


@dataclass(frozen=True)
class ReleaseMap:
    """A model's technique vocabulary (trained on one ATT&CK release) seen through another.

    A user on a newer (or older) release gives and reads IDs of their release: `to_model` turns
    theirs into the model's columns, `to_user` the model's forecast into theirs. An ID revoked
    in the user's release follows its `revoked_by` chain to the active technique that replaced it;
    deprecated and unknown ones have no counterpart and are listed with why (`unmapped`).
    """

    release: str
    """The user's release, e.g. "ATT&CK v18.1"."""
    to_user: dict[str, str]
    """Model ID → the user's active ID (itself, or the technique that replaced it)."""
    to_model: dict[str, tuple[str, ...]]
    """User ID → the model IDs it stands for (two revoked into one give two)."""
    unmapped: dict[str, str]
    """Model ID → why the user's release has no technique for it."""
    new: tuple[str, ...]
    """Active IDs of the user's release that the model has no column for (added since)."""

    def report(self) -> dict[str, Any]:
        """What could and could not be mapped, as the API and CLI show it."""
        renamed = {m: u for m, u in self.to_user.items() if m != u}
        return {
            "release": self.release,
            "mapped": len(self.to_user),
            "replaced": renamed,
            "unmapped": self.unmapped,
            "new_in_release": len(self.new),
        }

    def user_id(self, technique_id: str, catalog: TechniqueCatalog) -> tuple[str | None, str]:
        """An ID as given by the user → (their active ID or None, why not)."""
        technique = technique_id.strip().upper()
        seen: set[str] = set()
        while catalog.status(technique) == "revoked" and technique not in seen:
            seen.add(technique)
            technique = catalog.techniques[technique].revoked_by or ""
        status = catalog.status(technique)
        if status == "active":
            return technique, ""
        if status == "deprecated":
            return None, f"deprecated in {self.release}"
        return None, f"unknown to {self.release}"


def map_release(vocabulary: Iterable[str], user: TechniqueCatalog) -> ReleaseMap:
    """How a model's vocabulary reads in the user's release `user` (`ReleaseMap`)."""
    release = f"ATT&CK v{user.version}" if user.version else user.source
    to_user: dict[str, str] = {}
    unmapped: dict[str, str] = {}
    for technique in vocabulary:
        status = user.status(technique)
        target, seen = technique, set()
        while status == "revoked" and target not in seen:
            seen.add(target)
            target = user.techniques[target].revoked_by or ""
            status = user.status(target)
        if status == "active":
            to_user[technique] = target
        elif seen:
            unmapped[technique] = f"revoked in {release} with no active successor"
        else:
            unmapped[technique] = f"{status} in {release}"
    to_model: dict[str, list[str]] = {}
    for model_id, user_id in to_user.items():
        to_model.setdefault(user_id, []).append(model_id)
    new = tuple(t for t in user.active_ids() if t not in to_model)
    return ReleaseMap(release, to_user, {u: tuple(m) for u, m in to_model.items()}, unmapped, new)
