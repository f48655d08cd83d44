"""``ActiveLearningSystem``: which untested configurations to benchmark next, in what batches, and learning from them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.active_learning.candidates import (
    BATCHES_TABLE,
    QUEUE_COLUMNS,
    QUEUE_TABLE,
    CandidateScores,
    score_candidates,
)
from predictive_performance.active_learning.onboarding import choose_device_tests
from predictive_performance.active_learning.scoring import GainWeights, uncertainty_scores
from predictive_performance.active_learning.selection import Selection, greedy_gain_order, select_batch
from predictive_performance.ingest import IngestReport, ingest_frame
from predictive_performance.modeling import ModelVersion, latest_version, predict, prepare_configurations
from predictive_performance.prediction_matrix import prediction_grid
from predictive_performance.progress import step
from predictive_performance.recommend import HardwareRecommender, objective_for
from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE, Settings, artifacts_dir
from predictive_performance.vocabulary import metric_columns
from predictive_performance.warehouse import Warehouse

Retrain = Callable[[Warehouse, Path], object]


def rebuild_through_pipeline(warehouse: Warehouse, artifacts: Path, settings: Settings | None = None) -> None:
    """Run ``build_everything`` as the new-loads sensor starts it, so new rows pass the same GX gates and staged publish.

    Dagster is imported here, not at the top: the library never imports it when loaded (it is
    used and tested without it, and ``dagster_project`` imports the library). The job builds the
    warehouse and artifacts that ``settings`` (default: the environment's) name, so a system
    pointed elsewhere is refused rather than left looking at models that were not rebuilt.
    """
    settings = settings or Settings.from_env()
    if warehouse.path != settings.warehouse.resolve() or Path(artifacts).resolve() != settings.artifacts.resolve():
        raise ValueError(
            f"the pipeline builds {settings.warehouse} and {settings.artifacts}, not {warehouse.path} and "
            f"{artifacts}: name them in {DB_PATH_VARIABLE} and {ARTIFACTS_VARIABLE}"
        )
    from dagster_project.pipeline import run_sensor_job

    outcome = run_sensor_job(settings)
    if not outcome.success:
        raise RuntimeError("the pipeline run after the ingest failed:\n" + "\n".join(outcome.lines))


@dataclass
class ActiveLearningSystem:
    """Scores untested configurations, picks test sets and batches, and learns from their results.

    ``scores`` are the candidates to choose from; without them every call scores the untested grid
    afresh with the latest model versions (``from_models`` scores once for several calls).
    ``queue`` is a queue restored by ``load``; without it the queue is built from the scores.
    ``batches`` records every batch ``suggest_test_batch`` returned, for ``test_batches``.
    """

    warehouse: Warehouse | None = None
    artifacts: str | Path | None = None
    weights: GainWeights = field(default_factory=GainWeights)
    max_candidates: int | None = 50_000  # score a random sample of at most this many untested cells (None: all)
    seed: int = 0
    batches: list[pd.DataFrame] = field(default_factory=list)
    scores: CandidateScores | None = None
    queue: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.warehouse = self.warehouse or Warehouse.from_env()
        self.artifacts = Path(self.artifacts) if self.artifacts is not None else artifacts_dir()

    @classmethod
    def from_models(cls, **kwargs: Any) -> ActiveLearningSystem:
        """A system whose candidates are scored once, now, with the latest model versions."""
        system = cls(**kwargs)
        return replace(system, scores=system.candidate_scores())

    # scoring ------------------------------------------------------------------------------------------

    def versions(self) -> dict[str, ModelVersion]:
        """The latest saved version of every metric that has one."""
        found = {m: v for m in metric_columns() if (v := latest_version(m, self.artifacts)) is not None}
        if not found:
            raise FileNotFoundError(f"no trained model versions under {self.artifacts}: train first")
        return found

    def candidate_scores(self) -> CandidateScores:
        """The scores the system holds, else the untested grid scored now."""
        if self.scores is not None:
            return self.scores
        with step("active learning", "queue of untested configurations") as advance:
            scores = score_candidates(self.warehouse, self.versions(), self.weights, self.max_candidates, self.seed)
            advance(len(scores.frame), detail=f"{len(scores.frame):,} candidates scored")
        return scores

    # choosing ------------------------------------------------------------------------------------------

    def recommend_configurations(self, budget: int = 20, hardware: str | None = None) -> list[dict]:
        """The ``budget`` most informative untested configurations, chosen greedily (diversity to tested and chosen).

        With ``hardware`` (a catalog device, measured or not): the first tests for that device, the
        runnable configurations whose results fix its predictions best (``onboarding``).
        """
        if hardware is not None:
            return _records(self.device_tests(hardware, budget))
        scores = self.candidate_scores()
        selection = greedy_gain_order(scores.frame, scores.space, budget, self.weights)
        return _records(self._chosen(scores.frame, selection)[QUEUE_COLUMNS])

    def device_tests(self, hardware: str, budget: int) -> pd.DataFrame:
        """``onboarding.choose_device_tests`` over the device's coverage cells, its tested ones kept away from."""
        grid = device_cells(prediction_grid(self.warehouse), hardware, self.warehouse)
        frame = prepare_configurations(grid, self.warehouse)
        versions = self.versions()
        uncertainty = uncertainty_scores(predict(frame, versions=versions, components=True), list(versions))
        tested = grid["is_tested"].fillna(False).to_numpy(dtype=bool)
        selection, value = choose_device_tests(frame, budget, tested)
        chosen = frame.iloc[selection.positions].copy()
        chosen["hardware"] = chosen["hardware_platform"]
        chosen["uncertainty"] = uncertainty[selection.positions]
        chosen["diversity"] = selection.diversity
        chosen["expected_information_gain"] = value[selection.positions] * selection.diversity
        chosen["rank"] = np.arange(1, len(chosen) + 1)
        columns = [c for c in QUEUE_COLUMNS if c in chosen]
        return chosen[columns].reset_index(drop=True)

    def _chosen(self, scored: pd.DataFrame, selection: Selection, factor: np.ndarray | None = None) -> pd.DataFrame:
        """The chosen rows with the diversity and gain they had when picked (against tested + earlier picks)."""
        order = selection.positions
        chosen = scored.iloc[order].copy()
        chosen["diversity"] = selection.diversity
        chosen["expected_information_gain"] = self.weights.combine(
            chosen["uncertainty"].to_numpy(), selection.diversity, chosen["expected_model_change"].to_numpy()
        ) * (1.0 if factor is None else factor[order])
        chosen["rank"] = np.arange(1, len(order) + 1)
        return chosen.reset_index(drop=True)

    def queue_table(self) -> pd.DataFrame:
        """``active_learning.queue``: every untested configuration, best first (``rank`` 1 = run first)."""
        return self.queue if self.queue is not None else self.candidate_scores().queue()

    def test_batches_table(self) -> pd.DataFrame:
        """``active_learning.test_batches``: every batch suggested so far, with ``batch_id`` and ``selection_order``."""
        if not self.batches:
            return pd.DataFrame(columns=["batch_id", "selection_order", *QUEUE_COLUMNS])
        return pd.concat(self.batches, ignore_index=True)

    def suggest_test_batch(
        self,
        configurations: list[dict] | pd.DataFrame | None = None,
        batch_size: int = 10,
        ensure_diversity: bool = True,
        hardware_constraints: Mapping[str, int] | None = None,
        hardware_availability: Mapping[str, float] | None = None,
        diversity_weight: float = 0.5,
    ) -> pd.DataFrame:
        """A batch from ``configurations`` (default: the queue's top 500), see ``select_batch``; recorded in ``test_batches``."""
        scores = self.candidate_scores()
        if configurations is None:
            configurations = (self.queue if self.queue is not None else scores.queue()).head(500)
        frame = pd.DataFrame(configurations).reset_index(drop=True)
        Z = scores.space_rows(frame)
        reference = scores.space.tested_Z if Z is not None else None
        batch = select_batch(
            frame,
            batch_size,
            Z,
            ensure_diversity,
            hardware_constraints,
            hardware_availability,
            diversity_weight,
            reference=reference,
        )
        batch.insert(0, "batch_id", f"batch-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
        batch["created_at"] = datetime.now(UTC).replace(tzinfo=None)
        self.batches.append(batch)
        return batch

    def integrate_with_hardware_recommender(
        self,
        hardware_recommender: HardwareRecommender | None = None,
        test_budget: int = 20,
        optimize_for: str = "throughput",
    ) -> dict[str, Any]:
        """Tests that decide recommendations: the gain is scaled by ``(1 + decision_relevance) / 2``.

        Returns ``recommendations`` (list of dicts, as ``recommend_configurations`` plus
        ``decision_relevance``), ``objective``, ``contested`` (model/mode pairs whose leading device
        an untested configuration could still overtake) and ``table`` (the chosen rows as a DataFrame).
        """
        recommender = hardware_recommender or HardwareRecommender(self.warehouse)
        scores = self.candidate_scores()
        scored = scores.frame
        objective = objective_for(optimize_for)
        if f"{objective.metric}_pred" not in scored:
            raise ValueError(f"no trained {objective.metric} model: cannot optimise for {optimize_for!r}")
        relevance = recommender.decision_relevance(scored, objective.name, warehouse=self.warehouse)
        factor = (1.0 + relevance) / 2.0
        selection = greedy_gain_order(scored, scores.space, test_budget, self.weights, factor)
        chosen = self._chosen(scored, selection, factor)
        chosen["decision_relevance"] = relevance[selection.positions]
        contested = scored.loc[relevance > 0, ["model_name", "mode"]].drop_duplicates()
        figures = [f"{objective.metric}_{figure}" for figure in ("pred", "lower", "upper")]
        table = chosen[[*QUEUE_COLUMNS, "decision_relevance", *figures]]
        return {
            "recommendations": _records(table),
            "objective": objective.name,
            "contested": contested.reset_index(drop=True),
            "table": table,
        }

    # learning -----------------------------------------------------------------------------------------

    def update_with_benchmark_results(
        self,
        results: pd.DataFrame | list[dict],
        retrain: Retrain | None = rebuild_through_pipeline,
        source: str = "active_learning",
    ) -> IngestReport:
        """Ingest measured results as a new load, then rebuild the marts and models from it.

        The rows go through the validated importer like every other load, and ``retrain`` (default:
        ``rebuild_through_pipeline``, the sensor's job) takes them through dbt, the GX gates,
        training and the staged publish. ``retrain=None`` only ingests: a running ``dagster dev``
        sensor starts the same job. The scores and queue held before describe the old models, so
        they are dropped and the next call scores afresh. Returns the ingest report.
        """
        report = ingest_frame(pd.DataFrame(results), self.warehouse, source=source)
        if retrain is not None and report.stored:
            retrain(self.warehouse, self.artifacts)
        self.scores = self.queue = None
        return report

    # state -------------------------------------------------------------------------------------------

    def state_dir(self) -> Path:
        return Path(self.artifacts) / "active_learning"

    def save_state(self, path: str | Path | None = None, publish: bool = True) -> Path:
        """Queue and batches to ``<artifacts>/active_learning/`` (Parquet + ``state.json``), and to the warehouse tables."""
        folder = Path(path) if path else self.state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        queue = self.queue_table()
        batches = self.test_batches_table()
        queue.to_parquet(folder / "queue.parquet", index=False)
        batches.to_parquet(folder / "test_batches.parquet", index=False)
        state = {
            "saved_at": datetime.now(UTC).isoformat(),
            "weights": asdict(self.weights),
            "max_candidates": self.max_candidates,
            "seed": self.seed,
            "queue_rows": len(queue),
            "batches": int(batches["batch_id"].nunique()) if len(batches) else 0,
        }
        (folder / "state.json").write_text(json.dumps(state, indent=2))
        if publish:
            from predictive_performance.publish import publish_tables

            publish_tables(self.warehouse, {QUEUE_TABLE: queue, BATCHES_TABLE: batches})
        return folder

    @classmethod
    def load(
        cls,
        warehouse: Warehouse | None = None,
        artifacts: str | Path | None = None,
        path: str | Path | None = None,
    ) -> ActiveLearningSystem:
        """A system with the queue, batches and weights written by ``save_state``."""
        folder = Path(path) if path else cls(warehouse=warehouse, artifacts=artifacts).state_dir()
        state = json.loads((folder / "state.json").read_text())
        batches = pd.read_parquet(folder / "test_batches.parquet")
        return cls(
            warehouse=warehouse,
            artifacts=artifacts,
            weights=GainWeights(**state["weights"]),
            max_candidates=state["max_candidates"],
            seed=state["seed"],
            batches=[b for _, b in batches.groupby("batch_id", sort=False)] if len(batches) else [],
            queue=pd.read_parquet(folder / "queue.parquet"),
        )


def device_cells(grid: pd.DataFrame, hardware: str, warehouse: Warehouse) -> pd.DataFrame:
    """The coverage cells of one device; for a device nobody has measured (which the grid, spanning
    measured pairs, lacks) the cells of every measured model at the grid's settings, on that device."""
    own = grid[grid["hardware_name"] == hardware]
    if not own.empty:
        return own.reset_index(drop=True)
    catalog = warehouse.query("select hardware_platform from marts.dim_hardware where hardware_name = $1", [hardware])
    if catalog.empty:
        raise ValueError(f"{hardware!r} is not in the hardware catalog (marts.dim_hardware)")
    settings = [c for c in grid.columns if c not in ("hardware_name", "hardware_platform", "is_tested")]
    cells = grid[settings].drop_duplicates().reset_index(drop=True)
    return cells.assign(hardware_name=hardware, hardware_platform=catalog["hardware_platform"].iloc[0], is_tested=False)


def _records(rows: pd.DataFrame) -> list[dict]:
    """Rows as dicts, the queue's columns first, missing values as None."""
    columns = [c for c in QUEUE_COLUMNS if c in rows] + [c for c in rows.columns if c not in QUEUE_COLUMNS]
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in rows[columns].to_dict("records")
    ]
