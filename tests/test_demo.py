"""``perfpredict demo`` on the shared pipeline run's models: tables with confidence, PNG charts, clear errors.

Runs the command in-process, as a user would, against a private copy of the trained warehouse.
With ``PERFPREDICT_SCREENSHOTS`` set, the charts are copied there (how docs/screenshots/ is refreshed).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from predictive_performance.cli import app
from predictive_performance.predict import PerformancePredictor
from predictive_performance.settings import ARTIFACTS_VARIABLE
from tests.browser import publish_screenshot
from tests.conftest import CPU

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CONFIDENCE = re.compile(r"\b[01]\.\d\d (high|medium|low)\b")
SETTING = ["--model", "BERT-Base-Uncased", "--hardware", CPU, "--batch-size", "8", "--sequence-length", "128"]
VIEWS = ["configuration", "hardware", "batch_sizes", "recommendation"]


def demo(*args: str) -> Result:
    return CliRunner().invoke(app, ["demo", *args])


def predicted_rows(output: str) -> list[str]:
    """Table rows holding a predicted figure: the ones with an 80 % interval ("low – high")."""
    return [line for line in output.splitlines() if re.search(r"\d – \d", line)]


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich reads it at each print: no cell is wrapped onto two lines


@pytest.mark.parametrize(
    ("flags", "views"),
    [
        ([], ["configuration"]),
        (["--compare-hardware"], ["hardware"]),
        (["--batch-comparison"], ["batch_sizes"]),
        (["--recommend"], ["recommendation"]),
        (["--all"], VIEWS),
    ],
)
def test_each_view_prints_confidence_and_writes_its_charts(
    trained_copy, wide, tmp_path: Path, flags: list[str], views: list[str]
) -> None:
    result = demo(*SETTING, *flags, "--output-dir", str(tmp_path / "demo"))

    assert result.exit_code == 0, result.output
    charts = [Path(p) for p in re.findall(r"^chart: (.+\.png)$", result.output, flags=re.MULTILINE)]
    assert [c.name for c in charts] == [f"demo_bert-base-uncased_{v}.png" for v in views]
    for chart in charts:
        assert chart.parent == tmp_path / "demo"
        assert chart.read_bytes()[:8] == PNG_MAGIC and chart.stat().st_size > 10_000
        publish_screenshot(chart)
    rows = predicted_rows(result.output)
    assert rows and all(CONFIDENCE.search(row) for row in rows), "\n".join(rows)
    metrics = [m.key for m in PerformancePredictor.load().trained_metrics]
    if "configuration" in views:
        assert [r.split("│")[1].strip() for r in rows[: len(metrics)]] == metrics
    if "hardware" in views:  # measured devices are always listed, however they rank
        assert any(CPU in r and "│ measured" in r for r in rows)
    if "hardware" in views or "recommendation" in views:
        assert any("│ catalog only" in r for r in rows)


@pytest.mark.parametrize("setting", [SETTING, SETTING[:-2]], ids=["length-given", "length-as-measured"])
def test_batch_view_sets_measurements_beside_predictions(trained_copy, wide, tmp_path: Path, setting) -> None:
    result = demo(*setting, "--batch-comparison", "--output-dir", str(tmp_path))

    assert result.exit_code == 0, result.output
    # conftest's cpu_results: bert-base-uncased on the CPU, batch 8, cpu platform = 300 / 110 * 8 ** 0.3
    row_8 = next(r for r in predicted_rows(result.output) if r.split("│")[1].strip() == "8")
    assert row_8.split("│")[-2].strip() == f"{300 / 110 * 8**0.3:.3g}"
    batches = [r.split("│")[1].strip() for r in predicted_rows(result.output)]
    assert batches[:7] == ["1", "2", "4", "8", "16", "32", "64"]


def test_unknown_model_exits_2_naming_it(trained_copy, tmp_path: Path) -> None:
    result = demo("--model", "bert-basse-uncased", "--output-dir", str(tmp_path))

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "unknown model 'bert-basse-uncased'" in result.stderr and "'bert-base-uncased'" in result.stderr
    assert not list(tmp_path.glob("*.png"))


def test_unknown_hardware_exits_2_naming_it(trained_copy, tmp_path: Path) -> None:
    result = demo("--hardware", "Quantum Abacus 9000", "--output-dir", str(tmp_path))

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "unknown hardware 'Quantum Abacus 9000'" in result.stderr


@pytest.mark.parametrize("state", ["nothing", "models but raw tables only"])
def test_empty_warehouse_exits_2_saying_what_to_run(
    warehouse, pipeline_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    if state == "nothing":
        monkeypatch.setenv(ARTIFACTS_VARIABLE, str(tmp_path / "artifacts"))
    else:
        monkeypatch.setenv(ARTIFACTS_VARIABLE, str(pipeline_run.artifacts))
        warehouse.ensure_schema()  # the file and its raw tables, as after an ingest

    result = demo("--all", "--output-dir", str(tmp_path / "demo"))

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "run `perfpredict run` first" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_the_first_line_says_which_settings_were_assumed(trained_copy, wide, tmp_path: Path) -> None:
    given = demo(*SETTING, "--output-dir", str(tmp_path))
    assert given.exit_code == 0, given.output
    assert given.output.splitlines()[0].startswith(
        f"settings: bert-base-uncased on {CPU}, batch size 8, sequence length 128 (given), precision fp32, "
        "mode inference (change with"
    )
    assumed = demo(*SETTING[:-2], "--precision", "fp16", "--mode", "training", "--output-dir", str(tmp_path))
    assert assumed.exit_code == 0, assumed.output
    assert "sequence length 128 (the length bert-base-uncased was measured at most), precision fp16, mode training" in (
        assumed.output.splitlines()[0]
    )
    vision = demo("--model", "resnet-50", "--hardware", CPU, "--image-size", "160", "--output-dir", str(tmp_path))
    assert vision.exit_code == 0, vision.output
    assert "image size 160 (given)" in vision.output.splitlines()[0]
