"""A real Chromium, driven by Selenium, clicks through the report as an engineer would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests import servers
from tests.conftest import ROOT, SAMPLE_DATA
from tests.report.test_html import XSS, _report

ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.servers


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = servers.require_binary("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1366,800",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(servers.require_binary("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))


def _visible_rows(section: WebElement) -> list[WebElement]:
    return [r for r in section.find_elements(By.CSS_SELECTOR, "table.data tbody tr") if r.is_displayed()]


def _series_without(metric: str, label: str) -> int:
    """The oracle: series of ``metric`` left without ``label``, from the demo's raw inputs."""
    left = set()
    for f in sorted((SAMPLE_DATA / "prometheus").glob("*.json")):
        data = json.loads(f.read_text()).get("data")
        if isinstance(data, list):
            for s in data:
                if isinstance(s, dict) and s.get("__name__") == metric:
                    left.add(("api", frozenset((k, v) for k, v in s.items() if k not in (label, "__name__"))))
    for f in sorted((SAMPLE_DATA / "metrics").rglob("*.prom")):
        for family in text_string_to_metric_families(f.read_text()):
            for s in family.samples:
                if s.name == metric:  # a scrape's target labels, as a file_sd folder gives them
                    labels = {"job": f.parent.name, "instance": f.stem, **s.labels}
                    left.add(("files", frozenset((k, v) for k, v in labels.items() if k != label)))
    return len(left)


def test_an_engineer_finds_a_metric_reads_its_labels_copies_its_config(
    browser: WebDriver, tmp_path: Path
) -> None:
    report = _report(tmp_path, SAMPLE_DATA)
    _open(browser, report.as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report-first-screen.png"))
    # the first screen answers the three questions without scrolling
    for card in browser.find_elements(By.CSS_SELECTOR, "#overview .card"):
        assert card.rect["y"] + 40 < 800, card.text[:60]
    first = browser.find_element(By.ID, "overview").text
    assert "The bill" in first and "What is broken" in first and "The plan" in first

    # search a metric: the table filters as one types
    metrics = browser.find_element(By.ID, "metrics")
    metrics.find_element(By.CSS_SELECTOR, "input.filter").send_keys("http_requests_total")
    rows = _visible_rows(metrics)
    assert rows and all("http_requests_total" in r.text for r in rows)

    # open its panel and read the series left after dropping user_id
    rows[0].find_element(By.CSS_SELECTOR, "button.drill[data-key='http_requests_total']").click()
    panel = browser.find_element(By.ID, "panel")
    assert panel.is_displayed() and panel.find_element(By.TAG_NAME, "h2").text == "http_requests_total"
    cells = {
        r.find_element(By.CSS_SELECTOR, "td[data-col=label]").text: r.find_element(
            By.CSS_SELECTOR, "td[data-col=series_after]"
        ).text
        for r in panel.find_elements(By.CSS_SELECTOR, "table.labels tbody tr")
    }
    assert int(cells["user_id"].replace(",", "")) == _series_without("http_requests_total", "user_id")
    assert "Who reads it" in panel.text and "dashboard 'Shop services'" in panel.text
    browser.save_screenshot(str(ARTIFACTS / "report-drill-down.png"))

    # copy a config block of its actions
    button = panel.find_element(By.CSS_SELECTOR, ".config button.copy")
    button.click()
    WebDriverWait(browser, 5).until(lambda d: button.text != "copy")
    assert button.text in ("copied", "press Ctrl+C")
    if button.text == "press Ctrl+C":  # no clipboard here: the config is selected for the user instead
        config = panel.find_element(By.CSS_SELECTOR, ".config pre").text
        assert browser.execute_script("return window.getSelection().toString()").strip() == config.strip()
    browser.find_element(By.CSS_SELECTOR, "#panel .close").click()
    assert not panel.is_displayed()

    # a bar of the top-metrics chart opens the same panel
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-top-metrics .point path")
    assert bars
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", bars[-1])
    # plotly draws the costliest metric last (top of the chart); its drag layer takes the real click
    ActionChains(browser).move_to_element(bars[-1]).click().perform()
    WebDriverWait(browser, 5).until(lambda d: panel.is_displayed())
    assert panel.find_element(By.TAG_NAME, "h2").text == "http_requests_total"
    browser.find_element(By.CSS_SELECTOR, "#panel .close").click()

    # a log statement: who reads it; a trace operation: what sampling keeps
    logs = browser.find_element(By.ID, "logs")
    logs.find_element(By.CSS_SELECTOR, "input.filter").send_keys("currency")
    browser.execute_script(
        "arguments[0].click()", _visible_rows(logs)[0].find_element(By.CSS_SELECTOR, "button.drill")
    )
    assert panel.find_element(By.TAG_NAME, "h2").text.startswith("order <*> placed")
    assert "alert OrdersStopped" in panel.text  # its LogQL reads these lines
    operation = browser.find_element(By.CSS_SELECTOR, "#traces button.drill[data-kind=operation]")
    browser.execute_script("arguments[0].click()", operation)
    assert "error share" in panel.text and "What each sampling policy keeps of it" in panel.text
    assert "head-25%" in panel.text  # one row per policy compared on this operation
    browser.find_element(By.CSS_SELECTOR, "#panel .close").click()

    # sort a table by a column, both ways
    header = browser.find_element(By.CSS_SELECTOR, "#metrics th.n")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", header)
    metrics.find_element(By.CSS_SELECTOR, "input.filter").clear()
    browser.execute_script(
        "arguments[0].dispatchEvent(new Event('input'))",
        metrics.find_element(By.CSS_SELECTOR, "input.filter"),
    )
    for order in (sorted, lambda v: sorted(v, reverse=True)):
        header.click()
        cells = metrics.find_elements(By.CSS_SELECTOR, "tbody tr:not([hidden]) td.n:nth-of-type(3)")
        values = [float(c.get_attribute("data-v") or 0) for c in cells]
        assert values and values == order(values)

    # follow a table-of-contents link; a URL naming a section opens there
    browser.execute_script("window.scrollTo(0, 0)")
    browser.find_element(By.CSS_SELECTOR, "nav.toc a[href='#logs']").click()
    WebDriverWait(browser, 5).until(
        lambda d: (
            abs(d.find_element(By.ID, "logs").rect["y"] - d.execute_script("return window.scrollY")) < 120
        )
    )
    _open(browser, report.as_uri() + "#traces")
    top = browser.execute_script("return document.getElementById('traces').getBoundingClientRect().top")
    assert 0 <= top < 120


def test_hostile_names_stay_inert_in_every_panel(browser: WebDriver, tmp_path: Path) -> None:
    src = tmp_path / "hostile"
    src.mkdir()
    lines = ["# TYPE hostile_total counter"]
    for i, payload in enumerate(XSS):
        name = payload.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'hostile_total{{note="{name}{i}",job="{name}"}} 1')
    (src / "m.prom").write_text("\n".join(lines) + "\n")
    logs = [json.dumps({"level": "error", "service": p, "msg": f"{p} failed"}) for p in XSS * 3]
    (src / "app.jsonl").write_text("\n".join(logs) + "\n")
    spans = []
    for i, p in enumerate(XSS):
        tid = f"{i + 1:032x}"
        spans.append({"traceId": tid, "id": tid[16:], "name": p, "timestamp": 1764064800000000 + i,
                      "duration": 1000 + i, "localEndpoint": {"serviceName": p}})  # fmt: skip
    (src / "t.zipkin.json").write_text(json.dumps(spans))
    report = _report(tmp_path, src)
    _open(browser, report.as_uri())
    opened = 0
    for button in browser.find_elements(By.CSS_SELECTOR, "button.drill"):
        browser.execute_script("arguments[0].click()", button)
        panel = browser.find_element(By.ID, "panel")
        assert panel.is_displayed()
        assert not panel.find_elements(By.TAG_NAME, "img") and not panel.find_elements(By.TAG_NAME, "script")
        opened += 1
    assert opened >= 10
    kinds = {b.get_attribute("data-kind") for b in browser.find_elements(By.CSS_SELECTOR, "button.drill")}
    assert kinds == {"metric", "template", "operation"}
    assert "pwned" not in browser.title and browser.execute_script("return document.title").startswith(
        "costscope"
    )
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
