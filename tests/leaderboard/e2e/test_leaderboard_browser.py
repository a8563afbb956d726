"""The served leaderboard in headless Chromium: submit through the form, find it ranked.

Chromium comes from Debian (scripts/install_chromium.sh, run by ./dev.sh test) and is
driven by Playwright's Python package. Screenshots of the submission page and the ranked
table are written to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from leaderboard_support import activation, make_app, serve, token_for

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NAME = "Browser GELU ripple"


def _playwright() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is missing ({CHROMIUM} not found): run scripts/install_chromium.sh, "
            "which installs the Debian package `chromium`"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package `playwright` is missing: pip install -e '.[test]'")
    return sync_playwright


def test_submit_through_the_form_and_find_it_ranked(tmp_path: Path) -> None:
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(exist_ok=True)
    source = activation("return jax.nn.gelu(x) + 0.15 * jnp.sin(2.0 * x)")
    db = tmp_path / "lb.db"
    token = token_for(db, "e2e test")
    with serve(make_app(db)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/submit")
            page.fill("#name", NAME)
            page.fill("#token", token)
            page.fill("#description", "GELU plus a small sine ripple.")
            page.fill("#source", source)
            page.click("#submit")
            page.wait_for_url(re.compile(r"/submissions/\d+$"))
            submission_id = int(page.url.rsplit("/", 1)[1])
            # The page reloads itself while the submission is pending or running.
            page.wait_for_selector("#state.state-done", timeout=240_000)
            page.wait_for_function(
                "() => { const img = document.querySelector('img.plot');"
                " return img !== null && img.complete && img.naturalWidth > 0; }"
            )
            page.screenshot(path=ARTIFACTS / "leaderboard-submission.png", full_page=True)

            page.goto(f"{url}/")
            row = page.locator(f"#ranking #entry-{submission_id}")
            assert NAME in row.inner_text() and "e2e test" in row.inner_text()
            rank = int(row.locator("td").first.inner_text())
            assert 1 <= rank <= page.locator("#ranking tbody tr").count()
            page.screenshot(path=ARTIFACTS / "leaderboard-table.png", full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "leaderboard-table.png").stat().st_size > 0
