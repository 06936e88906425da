"""Checking a store before it is resumed: every file it reads is readable, has the expected
shape, holds one row per run, and the manifest matches its own hashes.

Runs are pure, so damage to what they produced (the runs table, a point's series files) is
repaired by running them again: the damaged rows are dropped, with a warning naming the file,
and ``--resume`` runs them. Damage to the manifest (what the store *is*) cannot be repaired
that way: it is refused, naming the file, and ``--force`` starts afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from leadtime_sim.errors import InputError, format_path

RUN_KEYS = ["point_id", "replication"]
REQUIRED_RUN_COLUMNS = ("point_id", "replication", "seed_key", "status", "error", "lots")


FREE_TEXT = ("name", "description", "charts", "model")
"""Fields of the experiment that say nothing of its runs (its free text, the charts drawn of
them, and the model's path as written, whose content is the manifest's ``scenario``): left
out of the store's identity, so that editing them, or moving the experiment and its model
elsewhere, does not make the store another experiment's (``--resume`` takes the new ones
into the manifest)."""
AS_WRITTEN = ("overrides",)
"""How the experiment writes changes to the model (its ``overrides``; and the ``--set`` texts):
the scenario they make is in the identity, so ``lines = 2`` set in the file or with ``--set
factories.x.lines=2``, or spelt ``orders[0].quantity`` or ``orders.0.quantity``, is one store."""
RUN_COUNT = ("replications",)
"""How many replications a point has: runs 0 to N - 1 are the same runs whatever N is (each
replication's streams depend on its number only), so a store of 30 extended to 50 with
``--resume --replications 50`` is the same store (``ResultsStore`` refuses fewer than it holds)."""
EARLIER = (((), True), (("name", "description"), True), (("name", "description", "charts"), True),
           (FREE_TEXT, True), ((*FREE_TEXT, *AS_WRITTEN), False))
"""The identities of stores of earlier versions: the experiment's fields they left out, and
whether they hashed the overrides as written (they still read)."""


def manifest_hashes(experiment: Any, scenario: Any, overrides: list[str]) -> tuple[str, str]:
    """(identity, scenario_sha256): what a manifest says it describes, as hashes. The identity
    leaves out the experiment's FREE_TEXT, how it writes the scenario (AS_WRITTEN, and the
    ``overrides``, the ``--set`` texts: the scenario as run is in it) and its RUN_COUNT."""
    identity = _identity(_without(experiment, (*FREE_TEXT, *AS_WRITTEN, *RUN_COUNT)), scenario, [])
    return identity, _scenario_sha256(scenario)


def _without(experiment: Any, keys: Sequence[str]) -> Any:
    return {k: v for k, v in experiment.items() if k not in keys} if isinstance(experiment, dict) \
        else experiment


def _identity(experiment: Any, scenario: Any, overrides: list[str]) -> str:
    text = json.dumps([experiment, scenario, overrides], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _scenario_sha256(scenario: Any) -> str:
    return hashlib.sha256(json.dumps(scenario, sort_keys=True).encode()).hexdigest()


def store_identity(manifest: dict[str, Any]) -> str:
    """A (checked) manifest's identity as this version computes it: stores of earlier versions
    hashed more of the experiment (EARLIER)."""
    return manifest_hashes(manifest["experiment"], manifest["scenario"], list(manifest["overrides"]))[0]


def read_manifest(path: Path) -> dict[str, Any]:
    """A store's manifest, checked against its own hashes; InputError naming it if damaged."""
    def damaged(why: str) -> InputError:
        return InputError([f"{path}: damaged ({why}); use --force to replace the store, or a new --out"])

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise damaged(f"not readable JSON: {exc}") from None
    except RecursionError:
        raise damaged("nested too deeply") from None
    if not isinstance(manifest, dict):
        raise damaged(f"a JSON {type(manifest).__name__}, not an object")
    try:
        identity, scenario_sha = manifest_hashes(manifest["experiment"], manifest["scenario"],
                                                 list(manifest["overrides"]))
        earlier = [_identity(_without(manifest["experiment"], keys), manifest["scenario"],
                             list(manifest["overrides"]) if written else []) for keys, written in EARLIER]
    except (KeyError, TypeError) as exc:
        raise damaged(f"no {exc}") from None
    if manifest.get("identity") not in (identity, *earlier) \
            or scenario_sha != manifest.get("scenario_sha256"):
        raise damaged("its experiment or scenario does not match its hashes: edited?")
    return manifest


DIFFERENCES_SHOWN = 5
"""Differences named when a resume is refused (the rest are counted)."""


def differences(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Why two manifests are of different experiments, as ``path: X in the store, Y now``: the
    experiment's fields (as written in its file; not its FREE_TEXT or RUN_COUNT), the ``--set`` texts, then
    the scenario as run (``scenario`` and its path), at most DIFFERENCES_SHOWN of them and a
    count of the rest. Without it a refused ``--resume`` leaves the user to guess what changed."""
    found = [*(d for d in _diff(stored.get("experiment"), now.get("experiment"), ()) if d[0][:1] not in
               [(k,) for k in (*FREE_TEXT, *RUN_COUNT)]),
             *(((("--set",), stored.get("overrides"), now.get("overrides")),)
               if stored.get("overrides") != now.get("overrides") else ()),
             *_diff(stored.get("scenario"), now.get("scenario"), ("scenario",))]
    lines = [f"{format_path(path)}: {_shown(a)} in the store, {_shown(b)} now"
             for path, a, b in found[:DIFFERENCES_SHOWN]]
    if len(found) > DIFFERENCES_SHOWN:
        lines.append(f"and {len(found) - DIFFERENCES_SHOWN} more")
    return lines


_ABSENT = object()


def _diff(a: Any, b: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """(path, stored, now) of each leaf where two JSON values differ (lists of one length
    item by item; otherwise the whole value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        return [d for k in keys for d in _diff(a.get(k, _ABSENT), b.get(k, _ABSENT), (*path, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _diff(x, y, (*path, i))]
    return [] if a == b and type(a) is type(b) else [(path, a, b)]


def _shown(value: Any) -> str:
    """A value as JSON, cut to 60 characters; ``none`` for a field one side lacks."""
    if value is _ABSENT or value in (None, [], {}):
        return "none"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Inspection:
    """The runs of a store that can be kept, and what was found wrong."""

    runs: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def inspect_runs(directory: Path, point_ids: set[int], replications: Sequence[range]) -> Inspection:
    """The finished runs worth keeping: one row per run of this design (its points, and
    replication numbers in one of ``replications``), each ok run with its series. Damaged
    series files are removed (their runs will be run again)."""
    path = directory / "runs.parquet"
    found = Inspection(pd.DataFrame())
    if not path.exists():
        return found
    try:
        runs = pd.read_parquet(path)
    except Exception as exc:  # any reader error: the runs are run again
        found.warnings.append(f"{path}: damaged ({type(exc).__name__}); its runs will be run again")
        return found
    missing = [c for c in REQUIRED_RUN_COLUMNS if c not in runs.columns]
    if missing:
        found.warnings.append(f"{path}: not a runs table (no {', '.join(missing)}); its runs will be "
                              "run again")
        return found
    numbers = runs["replication"]
    in_range = pd.Series(False, index=runs.index)
    for numbered in replications:
        in_range |= numbers.between(numbered.start, numbered.stop - 1)
    keep = runs["point_id"].isin(point_ids) & in_range
    if not keep.all():
        found.warnings.append(f"{path}: {int((~keep).sum())} rows of no run of this design; dropped")
    runs = runs[keep]
    duplicated = runs.duplicated(RUN_KEYS, keep="last")
    if duplicated.any():
        found.warnings.append(f"{path}: {int(duplicated.sum())} duplicated runs; the last of each kept")
    runs = runs[~duplicated]
    with_series = _series_present(directory / "series_runs", found.warnings)
    has = pd.Series([(p, r) in with_series for p, r in zip(runs["point_id"], runs["replication"],
                                                           strict=True)], index=runs.index, dtype=bool)
    lacking = (runs["status"] == "ok") & ~has
    for point, count in runs[lacking].groupby("point_id").size().items():
        found.warnings.append(f"{directory / 'series_runs' / f'point={point:05d}'}: lacks the series of "
                              f"{count} runs; they will be run again")
    found.runs = runs[~lacking].sort_values(RUN_KEYS, kind="stable").reset_index(drop=True)
    return found


def _series_present(folder: Path, warnings: list[str]) -> set[tuple[int, int]]:
    """(point, replication) of every run whose series a readable part holds; unreadable
    parts are removed with a warning."""
    present: set[tuple[int, int]] = set()
    if not folder.is_dir():
        return present
    for part in sorted(folder.glob("point=*/*.parquet")):
        try:
            point = int(part.parent.name.split("=")[1])
            with pq.ParquetFile(part) as handle:
                if not {"replication", "key", "values"} <= set(handle.schema_arrow.names):
                    raise ValueError("not a series file")
                reps = handle.read(columns=["replication"], use_threads=False).column("replication")
            present |= {(point, int(r)) for r in set(reps.to_pylist())}
        except Exception as exc:  # unreadable: its runs will be run again
            warnings.append(f"{part}: damaged ({type(exc).__name__}); removed, its runs will be run again")
            part.unlink(missing_ok=True)
    return present
