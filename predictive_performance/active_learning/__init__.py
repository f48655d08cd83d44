"""Active learning: which untested configurations to benchmark next, and in what batches.

Every untested cell of ``marts.coverage_gaps`` is scored with the latest saved model versions on
three 0-1 signals (``scoring``): ``uncertainty`` (interval width and ensemble spread),
``diversity`` (distance to the tested configurations in the models' novelty space times the
difference between what a candidate is predicted to reach and what was measured: improved greedy
sampling, Wu, Lin & Huang 2019) and ``expected_model_change`` (a leaf-change proxy).
``expected_information_gain`` is their weighted mean (``GainWeights``), so also 0-1.

Modules, in the order a reader needs them:

``scoring``     the signals and their weights, on plain arrays (no warehouse, no models).
``selection``   the one greedy selector: the gain order and the constrained test batch.
``onboarding``  the first k tests on a new device: runnable, spread over its workload space.
``candidates``  the untested grid scored with the latest model versions (``CandidateScores``).
``system``      ``ActiveLearningSystem``: queue, batches, the hardware-recommender integration,
                ingesting results (through the pipeline's gates) and the saved state.

Tables: ``active_learning.queue`` (every untested configuration, ranked; the benchmark runner plans
from it) and ``active_learning.test_batches`` (batches with ``selection_order``); ``save_state``
also writes both under the artifacts folder, so a queue survives restarts (``ActiveLearningSystem.load``).
"""

from predictive_performance.active_learning.candidates import (
    BATCHES_TABLE,
    KEY_COLUMNS,
    QUEUE_COLUMNS,
    QUEUE_TABLE,
    CandidateScores,
    score_candidates,
)
from predictive_performance.active_learning.onboarding import choose_device_tests, runnable, workload_space
from predictive_performance.active_learning.scoring import (
    DiversitySpace,
    GainWeights,
    leaf_change_scores,
    minmax,
    nearest_distance,
    simple_space,
    uncertainty_scores,
)
from predictive_performance.active_learning.selection import Selection, greedy_gain_order, greedy_select, select_batch
from predictive_performance.active_learning.system import ActiveLearningSystem, rebuild_through_pipeline

__all__ = [
    "BATCHES_TABLE",
    "KEY_COLUMNS",
    "QUEUE_COLUMNS",
    "QUEUE_TABLE",
    "ActiveLearningSystem",
    "CandidateScores",
    "DiversitySpace",
    "GainWeights",
    "Selection",
    "choose_device_tests",
    "greedy_gain_order",
    "greedy_select",
    "leaf_change_scores",
    "minmax",
    "nearest_distance",
    "rebuild_through_pipeline",
    "runnable",
    "score_candidates",
    "select_batch",
    "simple_space",
    "uncertainty_scores",
    "workload_space",
]
