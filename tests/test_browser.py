"""The leaderboard page in a real headless Chromium: rows, sorting, filters, and a screenshot.

The screenshot is kept in pytest's temporary folder (`--basetemp` to choose it).

CI installs Debian's chromium and chromium-driver (see .ci/run); without them this test skips.
"""

from __future__ import annotations

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
    assert "0.418448" in first_row and "0.235759" in first_row and "0.417964" in first_row
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
    assert "MagicXin/Med3DVLM-Qwen-2.5-7B-FLARE2025" in browser.find_element("css selector", f"#{table} dl").text

    section = browser.find_element("id", board)
    judge = browser.find_element("id", "filter-judge")
    judge.find_element("css selector", 'option[value="StanfordAIMI/GREEN-radllama2-7b"]').click()
    assert section.is_displayed()

    shot = tmp_path / "leaderboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
