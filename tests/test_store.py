"""The results store's layout for memory: series parts a row group per series, quantiles in
passes of bounded size, CSV written in chunks, and Arrow's pool restored after a sweep."""

from __future__ import annotations

import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from leadtime_sim.experiment import run_experiment
from leadtime_sim.experiment import store as store_module
from leadtime_sim.io import CSV_CHUNK_ROWS, system_memory_pool, write_table

TINY = Path(__file__).resolve().parent / "data" / "tiny_lines.toml"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store") / "tiny"
    run_experiment(TINY, out, executor="serial")
    return out


def parts_of(store: Path) -> list[Path]:
    parts = sorted((store / "series_runs").rglob("*.parquet"))
    assert parts
    return parts


def quantiles_of(store: Path) -> pd.DataFrame:
    return pd.read_parquet(store / "series_quantiles.parquet")


def recompute(store: Path) -> None:
    """Resume a finished store: nothing runs, the quantiles are computed again from the parts."""
    (store / "series_quantiles.parquet").unlink()
    run_experiment(TINY, store, executor="serial", resume=True)


def test_parts_are_sorted_by_series_a_few_series_a_row_group(finished: Path) -> None:
    per_group = store_module.SERIES_PER_ROW_GROUP
    for path in parts_of(finished):
        handle = pq.ParquetFile(path)
        table = handle.read()
        rows = list(zip(table.column("key").to_pylist(), table.column("replication").to_pylist(), strict=True))
        assert rows == sorted(rows)
        runs = len(set(table.column("replication").to_pylist()))
        groups = [set(handle.read_row_group(g, columns=["key"]).column("key").to_pylist())
                  for g in range(handle.metadata.num_row_groups)]
        assert all(len(keys) == per_group for keys in groups[:-1]) and 0 < len(groups[-1]) <= per_group
        assert sum(map(len, groups)) == len({key for key, _ in rows})  # no series split across groups
        assert handle.metadata.num_row_groups == -(-len(rows) // (per_group * runs)) > 1


def test_quantiles_are_the_same_one_series_per_pass(finished: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    copy = Path(shutil.copytree(finished, tmp_path / "copy"))
    passes: list[int] = []
    quantiles_of_keys = store_module.ResultsStore._quantiles_of

    def counting(self: store_module.ResultsStore, parts: list[store_module.SeriesPart], keys: list[str],
                 recorded: set[int], columns: dict[str, list[Any]]) -> None:
        passes.append(len(keys))
        quantiles_of_keys(self, parts, keys, recorded, columns)

    monkeypatch.setattr(store_module, "VALUES_PER_PASS", 1)
    monkeypatch.setattr(store_module.ResultsStore, "_quantiles_of", counting)
    recompute(copy)
    assert passes and set(passes) == {1}  # the budget holds: one series at a time
    assert_frame_equal(quantiles_of(copy), quantiles_of(finished))


def test_parts_of_the_earlier_layout_give_the_same_quantiles(finished: Path, tmp_path: Path) -> None:
    """Stores written before parts were sorted (one row group, rows in any order) resume."""
    copy = Path(shutil.copytree(finished, tmp_path / "copy"))
    rng = np.random.default_rng(7)
    for path in parts_of(copy):
        table = pq.read_table(path)
        pq.write_table(table.take(rng.permutation(table.num_rows)), path)
        assert pq.ParquetFile(path).metadata.num_row_groups == 1
    recompute(copy)
    assert_frame_equal(quantiles_of(copy), quantiles_of(finished))


def test_no_recorded_series_leaves_no_quantiles_file(finished: Path, tmp_path: Path) -> None:
    """Series files whose runs the table does not count as ok give no quantiles: no file,
    not an empty one that no reader can open."""
    copy = Path(shutil.copytree(finished, tmp_path / "copy"))
    runs = pd.read_parquet(copy / "runs.parquet")
    runs["status"] = "failed"
    runs.to_parquet(copy / "runs.parquet", index=False)
    recompute(copy)
    assert not (copy / "series_quantiles.parquet").exists()
    assert not [p for p in copy.iterdir() if p.name.endswith(".tmp")]


def test_csv_written_in_chunks_is_the_whole_table(tmp_path: Path) -> None:
    rows = 3 * CSV_CHUNK_ROWS + 17
    frame = pd.DataFrame({"point_id": np.arange(rows), "value": np.linspace(0, 1, rows),
                          "status": ["ok", "failed"] * (rows // 2) + ["ok"] * (rows % 2)})
    frame.loc[5, "value"] = np.nan
    write_table(frame, tmp_path / "runs")
    assert (tmp_path / "runs.csv").read_text() == frame.to_csv(index=False)
    assert_frame_equal(pd.read_parquet(tmp_path / "runs.parquet"), frame)


def test_the_system_pool_is_used_inside_and_the_previous_one_restored() -> None:
    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError), system_memory_pool():
        assert pa.default_memory_pool().backend_name == "system"
        raise RuntimeError
    assert pa.default_memory_pool().backend_name == before


def test_a_ctrl_c_something_swallowed_still_stops_the_runs_after_the_next_outcome() -> None:
    """Dask's scheduler adds a garbage-collector callback to the sweep's process; a Ctrl-C
    handled inside it was only printed ('Exception ignored in ... KeyboardInterrupt'), and
    the sweep ran to its end with exit 0. The outcome that came meanwhile is kept."""
    import os
    import signal

    from leadtime_sim.experiment.signals import signals_kept

    closed: list[bool] = []

    def outcomes() -> Generator[int, None, None]:
        try:
            yield 1
            try:  # (as a gc callback does: the handler's exception raised here, and lost)
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
            except KeyboardInterrupt:
                pass
            yield 2
            yield 3
        finally:
            closed.append(True)

    before = signal.getsignal(signal.SIGINT)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for outcome in signals_kept(outcomes()):
            seen.append(outcome)
    assert seen == [1, 2] and closed == [True]
    assert signal.getsignal(signal.SIGINT) is before
    assert list(signals_kept(x for x in [4, 5])) == [4, 5]  # (no signal: every outcome)
