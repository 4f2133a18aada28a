"""The leaderboard page in a real headless Chromium: rows, sorting, filters, provenance, the per-case
browser, and a screenshot.

The screenshot is kept in pytest's temporary folder (`--basetemp` to choose it).

CI installs Debian's chromium and chromium-driver (see .ci/run); without them this test skips.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.leaderboard import build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
         "--window-size=1280,1400"]


@pytest.fixture
def browser(tmp_path: Path):
    """A headless Chromium driven by chromedriver, with a fresh profile."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.is_file():
            pytest.skip(f"{binary} is missing: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def _models(driver, table_id: str) -> list[str]:
    rows = driver.find_elements("css selector", f"#{table_id} tbody tr")
    return [row.get_attribute("data-model") for row in rows]


def test_leaderboard_page_in_chromium(browser, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(REPO / "leaderboard" / "results", out)
    browser.get((out / "index.html").as_uri())
    board = "flare-task5-mllm-3d-validation-stanfordaimi-green-radllama2-7b"
    table = f"overall-{board}"

    assert _models(browser, table) == ["med3dvlm-readme", "flare25-phi3-baseline"]
    first_row = browser.find_element("css selector", f"#{table} tbody tr").text
    assert "0.4184" in first_row and "0.2358" in first_row and "0.4180" in first_row
    assert "0.418448" not in first_row  # 4 significant digits on the page; the exact figure is the cell's title
    cell = browser.find_element("css selector", f"#{table} tbody tr td.num[title='0.418448']")
    assert cell.text == "0.4184"
    missing = browser.find_element("css selector", f'#{table} tr[data-model="flare25-phi3-baseline"] td.missing')
    assert missing.text == "–" and "repeating-linear-gradient" in missing.value_of_css_property("background-image")
    organs = browser.find_elements("css selector", f"#organs_all_cases-{board} tbody tr")
    assert len(organs) == 18
    assert "reported" in browser.find_element("css selector", f"#{table} .badge.reported").text

    header = browser.find_element("css selector", f'#{table} th[data-metric="local_accuracy"]')
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert _models(browser, table) == ["flare25-phi3-baseline", "med3dvlm-readme"]
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert _models(browser, table) == ["med3dvlm-readme", "flare25-phi3-baseline"]

    summary = browser.find_element("css selector", f"#{table} tbody tr details summary")
    summary.click()
    fields = browser.find_element("css selector", f"#{table} dl.result").text
    assert "MagicXin/Med3DVLM-Qwen-2.5-7B-FLARE2025 @ main" in fields

    section = browser.find_element("id", board)
    judge = browser.find_element("id", "filter-judge")
    judge.find_element("css selector", 'option[value="StanfordAIMI/GREEN-radllama2-7b"]').click()
    assert section.is_displayed()
    assert not browser.find_element("id", DEMO).is_displayed()
    judge.find_element("css selector", 'option[value=""]').click()

    _check_demo_board(browser)
    _check_case_browser(browser)

    shot = tmp_path / "leaderboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000


DEMO = "demo-validation-lexical-v1-not-green-calibrated"


def _check_demo_board(driver) -> None:
    """Cases and date on every row; the same colour for a model in every table; readable provenance with links."""
    rows = driver.find_elements("css selector", f"#overall-{DEMO} tbody tr")
    for row in rows:
        assert row.find_element("css selector", "td.cases").text == "12"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row.find_element("css selector", "td.date").text)
    swatches = {}
    for swatch in driver.find_elements("css selector", f"#{DEMO} th .swatch, #{DEMO} td .swatch"):
        label = swatch.find_element("xpath", "..").text
        model = "med3dvlm-demo-untrained" if "untrained" in label else "med3dvlm-demo"
        swatches.setdefault(model, set()).add(swatch.value_of_css_property("background-color"))
    assert {model: len(colours) for model, colours in swatches.items()} == {"med3dvlm-demo": 1,
                                                                           "med3dvlm-demo-untrained": 1}
    assert swatches["med3dvlm-demo"] != swatches["med3dvlm-demo-untrained"]
    driver.find_element("css selector", f'#overall-{DEMO} tr[data-model="med3dvlm-demo"] summary').click()
    fields = driver.find_element("css selector", f'#overall-{DEMO} tr[data-model="med3dvlm-demo"] dl.result')
    assert "{" not in fields.text and "wall time s" in fields.text
    link = fields.find_element("link text", "results/med3dvlm-demo/flare_report.predictions.jsonl")
    driver.get(link.get_attribute("href"))
    assert '"case_id": "amos_00025.nii.gz"' in driver.find_element("tag name", "body").text
    driver.back()


def _visible(driver, css: str) -> list:
    return [e for e in driver.find_elements("css selector", css) if e.is_displayed()]


def _choose(driver, browser, name: str, value: str) -> None:
    browser.find_element("css selector", f"select.f-{name} option[value='{value}']").click()


def _check_case_browser(driver) -> None:
    """The per-case browser: reference against generated text, filtered by model, organ and correctness."""
    browser = driver.find_element("id", f"cases-{DEMO}")
    browser.find_element("css selector", "summary").click()
    count = browser.find_element("css selector", ".count")
    assert count.text == "showing 48 of 48 cases"

    _choose(driver, browser, "model", "med3dvlm-demo")
    _choose(driver, browser, "part", "liver")
    articles = _visible(driver, f"#cases-{DEMO} article.case")
    assert len(articles) == 6 and count.text == "showing 6 of 48 cases"  # 6 of its 12 references name the liver
    for article in articles:
        assert article.get_attribute("data-model") == "med3dvlm-demo"
        assert article.get_attribute("data-task") == "flare_report"
        (item,) = [i for i in article.find_elements("css selector", "tr.item") if i.is_displayed()]
        assert item.get_attribute("data-part") == "liver"
    first = articles[0]
    assert first.get_attribute("data-case") == "amos_00025.nii.gz"
    reference = first.find_element("css selector", "tr.item td.reference").text
    generated = first.find_element("css selector", "tr.item td.generated").text
    assert reference == "No focal hepatic lesion; the liver is of normal size."
    assert generated == "The liver is normal in size and attenuation without focal lesions."

    _choose(driver, browser, "grade", "wrong")
    wrong = _visible(driver, f"#cases-{DEMO} tr.item")
    assert wrong and all(i.get_attribute("data-grade") == "wrong" and i.text.endswith("0.000") for i in wrong)
    assert 0 < len(_visible(driver, f"#cases-{DEMO} article.case")) < 6

    _choose(driver, browser, "part", "")
    _choose(driver, browser, "task", "flare_vqa")
    _choose(driver, browser, "grade", "correct")
    correct = _visible(driver, f"#cases-{DEMO} tr.item")
    assert correct and all(i.get_attribute("data-grade") == "correct" and i.text.endswith("1.000") for i in correct)
    for article in _visible(driver, f"#cases-{DEMO} article.case"):
        assert article.get_attribute("data-task") == "flare_vqa"
    _choose(driver, browser, "grade", "")
    _choose(driver, browser, "model", "")
    _choose(driver, browser, "task", "")
    assert count.text == "showing 48 of 48 cases"
