"""Browser-test harness: Debian's Chromium driven by Playwright against pytest-django's live server.

Never downloads a browser: Playwright launches the system Chromium (/usr/bin/chromium, or the path
in CHROMIUM_PATH). Without it every browser test is skipped, saying how to install it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from tests.factories import PASSWORD

# Playwright's sync API runs an asyncio event loop in the main thread, and that loop stays registered
# as "running" for as long as the session-scoped browser lives, i.e. also during any test collected
# after the browser tests. Django then refuses every ORM call from the main thread
# (SynchronousOnlyOperation), yet tests must create users there. Nothing is really async: the loop
# only talks to the browser and the live server answers requests in its own thread, so the check is
# a false alarm here. It must be process-wide (not a per-test monkeypatch) for that same reason.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_MISSING = (
    f"Chromium niet gevonden op {CHROMIUM_PATH}: installeer Debian's chromium (apt-get install chromium) "
    "om de browsertests te draaien"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Every page comes from the local live server: a wait this long means something is broken.
TIMEOUT_MS = 5_000
expect.set_options(timeout=TIMEOUT_MS)

LOGIN_PATH = "/account/inloggen/"
# Django's forms render "Gebruikersnaam:"; the colon is layout, so the labels match with or without it.
USERNAME_LABEL = re.compile(r"^Gebruikersnaam:?$")
PASSWORD_LABEL = re.compile(r"^Wachtwoord:?$")
CODE_LABEL = re.compile(r"^Code uit uw authenticator-app of een reservecode:?$")
BLOCKING_IMPACTS = ("serious", "critical")


def pytest_collection_modifyitems(config, items):
    # A module-level pytest.skip() in a conftest aborts the whole run instead of skipping, so the
    # browser tests (pytestmark = pytest.mark.browser in each module) are skipped here, before any
    # fixture starts a live server for nothing.
    if CHROMIUM_PATH.exists():
        return
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM_PATH.exists():  # a test here that lacks the browser mark
        pytest.skip(CHROMIUM_MISSING)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def base_url(transactional_db, live_server) -> str:
    # The live server answers from another thread, so the test's data must be committed:
    # transactional_db, not db.
    return live_server.url


# Records CSP violations inside the page. Init scripts go in through the DevTools protocol, which
# the page's own CSP does not govern, so this runs even under script-src 'self'.
_CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile || event.documentURI}:${event.lineNumber})`
  );
});
"""


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(_CSP_RECORDER)
    yield context
    context.close()


@dataclass
class BrowserProblems:
    """What Chromium reported while the test ran: console errors, uncaught exceptions, CSP violations."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def record_csp_violations(self, page: Page) -> None:
        """Collects the CSP violations of the current document; call it before leaving each page,
        since the recorder starts afresh on every navigation."""
        self.csp_violations.extend(page.evaluate("window.__cspViolations || []"))

    def all(self) -> list[str]:
        return self.console_errors + self.page_errors + self.csp_violations


@pytest.fixture
def problems() -> BrowserProblems:
    return BrowserProblems()


@pytest.fixture
def page(context: BrowserContext, problems: BrowserProblems) -> Page:
    page = context.new_page()

    def on_console(message) -> None:
        if message.type == "error":
            location = message.location.get("url") or page.url
            problems.console_errors.append(f"console: {message.text} [{location}]")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(f"uncaught: {error} [{page.url}]"))
    return page


# --- Accessibility -------------------------------------------------------------------------------
_AXE = Axe()


def _axe_check(page: Page) -> None:
    """Runs axe-core on the page as it is; fails listing every serious or critical violation.

    The pages are served with a strict CSP (script-src 'self'). axe is injected with page.evaluate,
    which Playwright sends through the DevTools protocol; the page's CSP does not apply to that, and
    axe-core needs no eval of its own. So no bypass_csp is needed and axe sees the real page.
    """
    response = _AXE.run(page).response
    blocking = [v for v in response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"axe: {len(blocking)} ernstige toegankelijkheidsfout(en) op {page.url}"]
        for violation in blocking:
            targets = " | ".join(", ".join(node["target"]) for node in violation["nodes"])
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
        pytest.fail("\n".join(lines))


@pytest.fixture
def axe_check() -> Callable[[Page], None]:
    return _axe_check


# --- Logging in ----------------------------------------------------------------------------------
@pytest.fixture
def log_in(base_url: str) -> Callable[..., None]:
    """Logs in through the real login form, finding the fields by their Dutch labels."""

    def _log_in(page: Page, username: str, code: str = "", password: str = PASSWORD) -> None:
        page.goto(base_url + LOGIN_PATH)
        page.get_by_label(USERNAME_LABEL).fill(username)
        page.get_by_label(PASSWORD_LABEL).fill(password)
        page.get_by_label(CODE_LABEL).fill(code)
        page.get_by_role("button", name="Inloggen").click()

    return _log_in


# --- Keyboard ------------------------------------------------------------------------------------
def tab_to(page: Page, target: Locator, max_presses: int = 15) -> None:
    """Presses Tab until `target` has the focus, as a keyboard user would; fails if it never does."""
    path = []
    for _ in range(max_presses + 1):
        if target.evaluate("element => element === document.activeElement"):
            return
        path.append(page.evaluate("document.activeElement?.outerHTML.slice(0, 80) ?? 'niets'"))
        page.keyboard.press("Tab")
    pytest.fail(f"Na {max_presses}x Tab geen focus op {target}; focus ging langs: {path}")
