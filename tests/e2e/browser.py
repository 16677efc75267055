"""A real browser for authsvc's web tests: Debian's headless Chromium,
driven by selenium (python3-selenium) through /usr/bin/chromedriver.

    from browser import new_chromium, screenshot, sign_in_at_provider, wait_for
    driver = new_chromium(artifact_dir)        # or None: no screenshots, no log
    try:
        driver.get(authorization_url)
        landed = sign_in_at_provider(driver, "alice@example.org")
        wait_for(driver, lambda d: d.find_element(By.ID, "who"), 10, "the page")
        screenshot(driver, "signed-in")        # artifact_dir/NN-signed-in.png
    finally:
        driver.quit()

Nothing here sleeps a fixed time: wait_for polls. Timeouts are scaled
(tests/e2e/timing.py). A URL in an error message loses its query and
fragment: a callback's carries an authorization code, which must not reach
CTest's log (tests/token_leak_check.py searches it).
"""

import itertools
import os
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import scaled  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def new_chromium(artifact_dir=None, window_size=(1280, 900), page_load_timeout=30):
    """A new headless Chromium session with a fresh profile (no cookies).
    artifact_dir: where screenshot() saves PNGs and chromedriver writes its
    log (created if missing); None keeps nothing. Quit it in a finally."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.add_argument("--headless=new")
    if os.geteuid() == 0:
        # Chromium refuses to run as root with its sandbox ("Running as root
        # without --no-sandbox is not supported"); selenium only says
        # "Chrome instance exited".
        options.add_argument("--no-sandbox")
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--window-size=%d,%d" % window_size)
    if artifact_dir:
        os.makedirs(artifact_dir, exist_ok=True)
    service = Service(CHROMEDRIVER, log_path=os.devnull)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(scaled(page_load_timeout))
    driver.authsvc_artifact_dir = artifact_dir
    driver.authsvc_screenshots = itertools.count(1)
    return driver


def screenshot(driver, name):
    """Saves the page as artifact_dir/NN-name.png (NN: this driver's count,
    so the files sort in the order taken); returns the path, or None
    without an artifact_dir."""
    folder = getattr(driver, "authsvc_artifact_dir", None)
    if not folder:
        return None
    path = os.path.join(folder, "%02d-%s.png" % (next(driver.authsvc_screenshots), name))
    # The whole page, not the window's first screenful: the window grows to
    # the page's height (at most 4000 px) for the shot, then shrinks back.
    size = driver.get_window_size()
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight,"
        " document.body ? document.body.scrollHeight : 0)")
    grown = min(max(size["height"], int(height) + (size["height"] - driver.execute_script(
        "return window.innerHeight"))), 4000)
    if grown != size["height"]:
        driver.set_window_size(size["width"], grown)
    try:
        if not driver.save_screenshot(path):
            raise RuntimeError("the screenshot %s was not saved" % path)
    finally:
        if grown != size["height"]:
            driver.set_window_size(size["width"], size["height"])
    return path


def without_query(url):
    """`url` without its query and fragment, for messages."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _vanished(error):
    """Whether a WebDriverException says that the element, or its page, is
    gone. Besides selenium's stale and missing element errors, chromedriver
    answers "unhandled inspector error: ... Node with given id does not
    belong to the document" when the document is replaced while a command
    on one of its elements runs (seen with Chromium 156, now and then, on a
    command right after a form's submit)."""
    return (isinstance(error, (NoSuchElementException, StaleElementReferenceException))
            or "does not belong to the document" in str(error.msg))


def wait_for(driver, condition, timeout=10, what="the page", interval=0.05):
    """Calls condition(driver) until it returns something true, and returns
    that. An element that is missing or has gone stale (the page changed
    under it: see _vanished) counts as not yet. Raises AssertionError naming `what`, the
    page's URL (without its query) and title after `timeout` seconds
    (scaled); the condition is tried once more after the deadline."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        late = time.monotonic() > deadline
        try:
            value = condition(driver)
        except WebDriverException as e:
            if not _vanished(e):
                raise
            value = None
        if value:
            return value
        if late:
            raise AssertionError("timed out after %.1f s waiting for %s; the browser is at %s "
                                 "(title %r)" % (scaled(timeout), what,
                                                 without_query(driver.current_url), driver.title))
        time.sleep(interval)


def _gone(element):
    """True once `element`'s page has been replaced."""
    try:
        element.is_enabled()
        return False
    except WebDriverException as e:
        if not _vanished(e):
            raise
        return True


def _prompt_page(driver):
    """On one of oidc-provider's devInteractions pages (both titled
    "Sign-in"): ("login" or "consent", the form's hidden prompt input);
    else None. No script runs in the page (a navigation may be under way)."""
    found = driver.find_elements(By.CSS_SELECTOR, "form input[type=hidden][name=prompt]")
    if not found:
        return None
    return found[0].get_dom_attribute("value"), found[0]


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def sign_in_at_provider(driver, login, password="any password", consent=True, timeout=20):
    """Signs in at oidc-provider's devInteractions pages, which the browser
    is on or on its way to: fills login and password and presses Sign-in,
    then, if the consent page follows, presses Continue (consent=False:
    returns on the consent page instead). The pages are told apart by their
    hidden `prompt` input, and each step waits for the page to change; it
    is done when the browser leaves the provider's origin (a page of the
    provider's without a form, such as its error page, times out).
    Screenshots: NN-provider-sign-in.png, NN-provider-consent.png.
    Returns the URL the provider sent the browser to (a callback's carries
    the code: do not print it)."""
    kind, marker = wait_for(driver, _prompt_page, timeout, "the provider's sign-in page")
    provider = _origin(driver.current_url)

    def next_page(d):
        # Another of the provider's pages, or one elsewhere: where it sent us.
        if _origin(d.current_url) != provider:
            return "elsewhere", None
        return _prompt_page(d)

    shown = []
    while True:
        shown.append(kind)
        if shown[-2:] == [kind, kind]:
            raise AssertionError("the provider showed its %s page twice in a row (a refused "
                                 "cookie?)" % kind)
        form = marker.find_element(By.XPATH, "./ancestor::form")
        if kind == "login":
            field = form.find_element(By.NAME, "login")
            field.clear()
            field.send_keys(login)
            form.find_element(By.NAME, "password").send_keys(password)
            screenshot(driver, "provider-sign-in")
        elif kind == "consent":
            screenshot(driver, "provider-consent")
            if not consent:
                return driver.current_url
        else:
            raise AssertionError("a provider page with prompt %r, neither login nor consent"
                                 % kind)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(driver, lambda d: _gone(marker), timeout,
                 "the provider to answer its %s form" % kind)
        kind, marker = wait_for(driver, next_page, timeout,
                                "the page after the provider's %s form" % kind)
        if kind == "elsewhere":
            return driver.current_url
