"""The HTML reports opened in a real headless Chromium, and the report asset's metadata in Dagster.

A report can be valid HTML and still broken for a reader: a truncated base64 PNG shows as a broken
image, an empty section as a bare heading. Only a browser says so, hence Chromium and not a parser.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from dagster_project.defs.reports.assets import REPORT_FILE
from predictive_performance.predict import PerformancePredictor
from predictive_performance.reports import PIPELINE_SECTIONS
from tests.browser import chromium, console_errors, full_page_screenshot
from tests.conftest import CPU

IMAGES = "return Array.from(document.images, image => [image.alt, image.complete, image.naturalWidth])"


def open_report(driver: WebDriver, path: Path) -> list[list]:
    """Load ``path``; fail on any SEVERE console entry or undecoded image; return ``[alt, complete, width]``."""
    driver.get(path.as_uri())
    assert console_errors(driver) == []
    images = driver.execute_script(IMAGES)
    assert images, f"{path.name} has no image"
    broken = [alt for alt, complete, width in images if not (complete and width > 0)]
    assert broken == [], f"{path.name}: images that did not decode: {broken}"
    return images


def test_pipeline_report_renders_every_section_in_chromium(pipeline_run, tmp_path):
    # the file the job's report asset wrote from the run's warehouse (load_report_data + pipeline_report)
    with chromium() as driver:
        images = open_report(driver, pipeline_run.artifacts / REPORT_FILE)
        sections = driver.find_elements(By.TAG_NAME, "section")
        assert [s.find_element(By.TAG_NAME, "h2").text for s in sections] == list(PIPELINE_SECTIONS)
        for section in sections:
            title = section.find_element(By.TAG_NAME, "h2").text
            content = section.find_elements(By.CSS_SELECTOR, "table tbody tr, img")
            notes = [n.text for n in section.find_elements(By.CSS_SELECTOR, "p.note")]
            if title == "Serving":  # the run's data (our CPU) has no serving workload: the section says so
                assert notes == ["No serving model yet: no serving workload has been measured."] and not content
                continue
            assert content, f"section {title!r} has no table row and no image"
            assert not any(n.startswith("No ") for n in notes), f"section {title!r} says it is empty: {notes}"
        links = [a.get_attribute("href").rpartition("#")[2] for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
        assert links == [s.get_attribute("id") for s in sections]
        # the prediction heatmaps (one per setting and metric) and the coverage figure
        assert len(images) >= 2 and any(alt == "measured model x device cells" for alt, _, _ in images)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        shot = full_page_screenshot(driver, tmp_path / "html_report.png")
    with Image.open(shot) as image:
        assert image.height >= height > 900  # the whole page, not the window


def test_comparison_report_renders_in_chromium(pipeline_run, tmp_path):
    predictor = PerformancePredictor.load(model_path=pipeline_run.artifacts, db_path=pipeline_run.warehouse.path)
    path = predictor.generate_comparison_report(
        ["bert-base-uncased", "gpt2"],
        metrics=["throughput", "latency"],
        output_path=tmp_path / "comparison.html",
        hardware_platforms=[CPU, "NVIDIA H100 80GB SXM5"],
        batch_sizes=[1, 8],
    )
    with chromium() as driver:
        images = open_report(driver, Path(path))
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
        rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert headings[0].startswith("throughput") and headings[-1] == "Model versions"
    assert len(images) == len(headings) - 1  # one chart per metric with a model
    assert len(rows) >= 2 * 2 * 2  # two models x two devices x two batch sizes, at least


def test_job_materializes_the_report_and_describes_every_table(pipeline_run):
    warehouse = pipeline_run.warehouse
    metadata = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in pipeline_run.result.get_asset_materialization_events()
    }
    report = metadata["reports/comparison_report"]
    path = Path(report["path"].value)
    assert path == pipeline_run.artifacts / REPORT_FILE
    assert report["size_bytes"].value == path.stat().st_size > 10_000
    assert "predicted configurations" in report["preview"].value and "| metric | partition | split |" in report["preview"].value

    for table in ("raw.benchmark_results", "ml.model_registry", "ml.evaluation", "predictions.prediction_matrix",
                  "predictions.hardware_recommendations", "active_learning.queue", "active_learning.test_batches"):
        rows = warehouse.query(f"select count(*) as n from {table}")["n"].iloc[0]
        assert metadata[table.replace(".", "/")]["dagster/row_count"].value == rows > 0, table

    figures = metadata["ml/throughput_model"]["held_out_figures"].value
    assert "| metric | partition | split |" in figures and "leave_one_hardware_out" in figures and "baseline MAPE" in figures
    assert "throughput" in metadata["ml/evaluation"]["newest_held_out_figures"].value
    heatmap = metadata["predictions/prediction_matrix"]["throughput_heatmap"].value
    assert "| hardware | batch 1 |" in heatmap and "(measured)" in heatmap
