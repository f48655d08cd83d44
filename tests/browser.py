"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by its matching ``chromedriver``.

CI installs both (``.ci/run``), so a missing driver fails the test with the command that installs it
instead of skipping: a skipped browser test would let a broken page pass unnoticed.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

SCREENSHOTS_VARIABLE = "PERFPREDICT_SCREENSHOTS"  # a folder: screenshots are copied there for the README
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--hide-scrollbars",
)


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[webdriver.Chrome]:
    """A headless Chromium that records every console message (read them with ``console_errors``)."""
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.fail(
            "chromedriver is not installed; the browser tests need Debian's Chromium and its driver: "
            "apt-get install chromium chromium-driver (what .ci/run does)"
        )
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    browser_path = shutil.which("chromium")
    if browser_path:  # Debian's name; elsewhere chromedriver finds Chrome itself
        options.binary_location = browser_path
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The SEVERE console entries since the last call (uncaught exceptions, failed loads, console.error)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> Path:
    """Capture the whole document, not only the window, through the DevTools protocol."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    publish_screenshot(path)
    return path


def publish_screenshot(path: Path) -> Path | None:
    """Copy a screenshot to ``$PERFPREDICT_SCREENSHOTS`` when set (how docs/screenshots/ is refreshed)."""
    folder = os.environ.get(SCREENSHOTS_VARIABLE)
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(path, Path(folder) / path.name))
