"""What the warehouse holds, for ``perfpredict status``: sources, model versions, what is new since training.

Only read-only connections, so status works on a warehouse file the user may not write and while
another process reads it; and no model library is imported, so it answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.table import Table

from predictive_performance.current_models import CURRENT_VERSIONS_SQL, TRAINED_LOADS_SQL
from predictive_performance.warehouse import Warehouse

# The grouped splits of ``modeling.evaluation.SPLITS`` (tests/test_cli_errors.py keeps them in step),
# named here so that status loads no model library.
HELD_OUT_SPLITS = ("leave_one_hardware_out", "leave_one_model_out")


@dataclass(frozen=True)
class WarehouseStatus:
    """Three small tables: loads per source, the newest model version per metric, loads trained on by none."""

    path: Path
    sources: pd.DataFrame  # source, loads, rows, rejected, last_loaded_at
    versions: pd.DataFrame  # metric, model_version, trained_at, n_rows, partition, then MAPE per held-out split (of that partition)
    new_loads: pd.DataFrame  # load_id, source, rows_accepted, loaded_at

    @classmethod
    def read(cls, warehouse: Warehouse) -> WarehouseStatus:
        """Raises ``WarehouseError`` when the file cannot be opened (locked by a writer, not DuckDB)."""
        empty = pd.DataFrame()
        if not warehouse.table_exists("raw.loads"):
            return cls(warehouse.path, empty, empty, empty)
        sources = warehouse.query(
            """select source, count(*) as loads, sum(rows_accepted)::bigint as rows,
                      sum(rows_rejected)::bigint as rejected,
                      max(loaded_at) as last_loaded_at
                 from raw.loads group by source order by source"""
        )
        trained = warehouse.table_exists("ml.model_registry")
        versions = _versions(warehouse) if trained else empty
        known = TRAINED_LOADS_SQL if trained else "select '' where false"
        new_loads = warehouse.query(
            f"""select load_id, source, rows_accepted, loaded_at from raw.loads
                 where load_id not in ({known}) order by load_id"""
        )
        return cls(warehouse.path, sources, versions, new_loads)

    @property
    def is_empty(self) -> bool:
        return self.sources.empty

    def render(self) -> list[Table | str]:
        """What ``perfpredict status`` prints, in order: tables and lines."""
        if self.is_empty:
            return [
                f"warehouse {self.path} holds no benchmark results yet: run `perfpredict ingest PATH` "
                "to add some, or `perfpredict run` to ingest the sample data and train"
            ]
        out: list[Table | str] = [f"warehouse {self.path}", _table(self.sources, "sources")]
        if self.versions.empty:
            out.append("no model trained yet: run `perfpredict run`")
        else:
            out.append(_table(self.versions, "model versions (newest per metric, held-out MAPE)"))
        if self.new_loads.empty:
            out.append("nothing new since training")
        else:
            rows = int(self.new_loads["rows_accepted"].sum())
            out.append(_table(self.new_loads, f"new since training: {len(self.new_loads)} load(s), {rows} row(s)"))
            out.append("run `perfpredict run` to train on them")
        return out


def _versions(warehouse: Warehouse) -> pd.DataFrame:
    """The newest version per metric with its held-out MAPE per grouped split (model, all rows) on its
    largest partition (e.g. ``workload=static_batch``), which the table names."""
    versions = warehouse.query(f"select metric, model_version, trained_at, n_rows from ({CURRENT_VERSIONS_SQL})")
    if warehouse.table_exists("ml.evaluation"):
        mape = warehouse.query(
            """with held_out as (
                   select model_version, partition, split, mape, n_rows from ml.evaluation
                   where method = 'model' and stratum = 'all' and split in (select unnest($1::varchar[]))
               ),
               largest as (
                   select model_version, arg_max(partition, n_rows) as partition from held_out group by model_version
               )
               select held_out.model_version, held_out.partition, split, mape
               from held_out join largest using (model_version, partition)""",
            [list(HELD_OUT_SPLITS)],
        )
        versions["partition"] = versions["model_version"].map(mape.groupby("model_version")["partition"].first())
        wide = mape.pivot_table(index="model_version", columns="split", values="mape", aggfunc="first")
        for split in HELD_OUT_SPLITS:
            column = wide[split] if split in wide else pd.Series(dtype=float)
            versions[f"MAPE {split}"] = versions["model_version"].map(column).map(_percent)
    return versions


def _percent(value: float) -> str | None:
    return None if pd.isna(value) else f"{value:.1%}"


def _cell(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*map(_cell, row))
    return table
