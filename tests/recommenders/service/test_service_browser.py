"""The web page in a real browser: Debian's Chromium driven by Playwright (no downloaded browser).

Pick techniques by search, forecast, read the explanations and the matrix, download the Navigator
layer; paste incident text; open an Attack Flow and download it with suggestions. Screenshots go
to $TIE_SCREENSHOT_DIR when set (docs/screenshots/ holds the published ones), else the test's
temporary folder.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: apt-get install chromium (.ci/run installs it)"
)
# flags for a sandboxed, offline machine: no background networking (its connections are refused)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]
FLAGS += ["--disable-component-update", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def page(live_server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(live_server)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("TIE_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pick(page, query: str, technique: str) -> None:
    page.fill("#technique-search", query)
    page.click(f"#suggestions li[data-id='{technique}']")


def test_pick_techniques_forecast_explained_and_download_the_layer(page, shots, tmp_path):
    page.wait_for_function("document.querySelector('#model-info').textContent.includes('EASE')")
    _pick(page, "T1566.001", "T1566.001")
    _pick(page, "powershell", "T1059.001")
    assert page.locator("#chips .chip").count() == 2
    page.click("#forecast-button")
    page.wait_for_selector("#forecast li.prediction")
    predictions = page.locator("#forecast li.prediction")
    assert predictions.count() == 10
    assert "because you saw" in predictions.first.inner_text()
    assert predictions.first.get_attribute("data-id") == "T1204.002"
    page.wait_for_selector("#matrix .cell.hot")
    assert page.locator("#matrix .cell.observed").count() >= 2
    with page.expect_download() as download:
        page.click("#download-layer")
    layer = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename == "tie-forecast-layer.json"
    assert layer["domain"] == "enterprise-attack" and len(layer["techniques"]) == 12
    page.screenshot(path=str(shots / "forecast.png"), full_page=True)


def test_incident_text_shows_evidence_iocs_and_the_forecast(page, shots):
    page.click("[data-tab=text]")
    page.fill(
        "#text-input",
        "The actor ran mimikatz against lsass from 203.0.113[.]5, then schtasks kept access.",
    )
    page.click("#text-button")
    page.wait_for_selector("#evidence li.hit[data-id='T1003.001']")
    assert "mimikatz" in page.locator("#evidence").inner_text()
    assert "203.0.113.5" in page.locator("#iocs").inner_text()
    page.wait_for_selector("#forecast li.prediction")
    page.screenshot(path=str(shots / "text.png"), full_page=True)


def test_an_attack_flow_forecast_and_its_suggestions_download(page, shots, data_dir):
    page.click("[data-tab=flow]")
    page.set_input_files("#flow-file", str(data_dir / "attack-flow" / "Alpha Intrusion.afb"))
    page.click("#flow-button")
    page.wait_for_selector("#download-flow:not([disabled])")
    with page.expect_download() as download:
        page.click("#download-flow")
    bundle = json.loads(Path(download.value.path()).read_text())
    assert bundle["type"] == "bundle" and any(
        o["type"] == "attack-operator" for o in bundle["objects"]
    )


def test_an_error_is_shown_not_thrown(page):
    page.click("[data-tab=text]")
    page.fill("#text-input", "   ")
    page.click("#text-button")
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text().strip()
