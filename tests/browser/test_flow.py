"""The web UI in Debian's Chromium (Playwright, no browser download): an analyst logs
in, picks a case, searches, opens a dossier and confirms a link; the auditor then sees
the judgement in the audit view. Screenshots are kept as artifacts (pytest's tmp
folder, copied to $TESSERA_ARTIFACTS when set)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from service import service_support as service

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _chromium() -> str:
    for path in (os.environ.get("TESSERA_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if path and Path(path).exists():
            return path
    pytest.fail(
        "no Chromium binary found (looked at $TESSERA_CHROMIUM and "
        f"{', '.join(CHROMIUM_CANDIDATES)}): install Debian's package with "
        "`apt-get install -y chromium` (.ci/run does this); the browser test never "
        "downloads a browser"
    )


def _login(page: Page, name: str) -> None:
    form = page.locator("#login-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Password").fill(service.PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page.locator("#whoami")).to_contain_text(name)


def test_analyst_confirms_a_link_and_the_auditor_sees_it(
    served: object, district: object, tmp_path: Path
) -> None:
    url = served.url  # type: ignore[attr-defined]
    person = district.in_scope[0]  # type: ignore[attr-defined]
    shots = tmp_path / "artifacts"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.set_default_timeout(20_000)
            page.goto(url)
            _login(page, "ann")
            page.screenshot(path=shots / "1-logged-in.png")
            page.locator("#nav").get_by_label("Case").select_option(service.CASE)
            page.locator("#search-form").get_by_role("button", name="Search").click()
            row = page.locator("#results tbody tr", has_text=person)
            expect(row).to_have_count(1)
            page.screenshot(path=shots / "2-search.png")
            row.get_by_role("button").click()
            expect(page.locator("#dossier-meta")).to_contain_text(person)
            card = page.locator(".hyp").first
            expect(card).to_contain_text("not judged")
            page.screenshot(path=shots / "3-dossier.png", full_page=True)
            card.get_by_role("button", name="Confirm").click()
            expect(page.locator(".hyp").first).to_contain_text("confirmed by ann")
            page.screenshot(path=shots / "4-confirmed.png")
            page.get_by_role("button", name="Log out").click()
            _login(page, "aud")
            page.locator("#audit-form").get_by_label("Action").fill("hypothesis.judge")
            page.locator("#audit-form").get_by_role("button", name="Filter").click()
            audit_row = page.locator("#audit-table tbody tr", has_text="ann")
            expect(audit_row.first).to_contain_text("hypothesis.judge")
            expect(page.locator("#audit-verified")).to_contain_text("verifies")
            page.screenshot(path=shots / "5-audit.png", full_page=True)
        finally:
            browser.close()
    target = os.environ.get("TESSERA_ARTIFACTS")
    if target:
        shutil.copytree(shots, Path(target) / "browser", dirs_exist_ok=True)
    assert len(list(shots.glob("*.png"))) == 5
