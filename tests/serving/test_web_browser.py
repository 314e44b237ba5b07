"""The web page end to end in a real headless Chromium: upload, run, see the result; caps shown; offline.

Needs Debian's /usr/bin/chromium and /usr/bin/chromedriver (``scripts/install-test-browser.sh``, run by
``make test``); without them the test skips and says why.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(f"the browser test needs {CHROMIUM} and {CHROMEDRIVER} "
                "(run scripts/install-test-browser.sh as root)", allow_module_level=True)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from web_servers import free_port, tiny_checkpoint  # noqa: E402

from lrmakeup.api import MakeupTransfer  # noqa: E402
from lrmakeup.serving.web import UploadLimits, build_app, launch  # noqa: E402

LIMITS = UploadLimits(max_bytes=2 * 1024 * 1024, max_side=1500)
WAIT = 120  # seconds for any one thing to appear on the page (generous: a loaded 2-core machine is slow)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The page with a tiny random model, served on 127.0.0.1 from a background thread."""
    folder = tmp_path_factory.mktemp("web")
    tiny_checkpoint(folder)
    engine = MakeupTransfer.from_checkpoint(folder / "tiny.safetensors")
    app = build_app(engine, LIMITS, examples_dir=folder / "examples")
    port = free_port()
    launch(app, LIMITS, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/", folder
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,2000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def upload(driver, elem_id: str, path) -> None:
    """Send a file to the component's <input type=file> and wait for its preview <img>."""
    field = driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[type=file]")
    field.send_keys(str(path))
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#{elem_id} img[src]"))


def toast_text(driver) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".toast-body"))


def requested_hosts(driver) -> set[str]:
    """Hosts of every network request the page made (from Chromium's performance log)."""
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = urlparse(message["params"]["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss"):
                hosts.add(url.hostname)
    return hosts


def test_page_transfers_and_caps_uploads_offline(server, browser):
    url, folder = server
    examples = folder / "examples"
    browser.get(url)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#run"))

    # Upload a source and a reference, run, and wait for the result and the low-resolution stage.
    upload(browser, "source", examples / "astronaut.png")
    upload(browser, "reference", examples / "grace_hopper_moderate_makeup.png")
    browser.find_element(By.CSS_SELECTOR, "#run").click()
    for elem_id in ("result", "result-lr"):
        WebDriverWait(browser, WAIT).until(
            lambda d, i=elem_id: any(img.get_attribute("src") for img in d.find_elements(By.CSS_SELECTOR, f"#{i} img")),
            message=f"no image in #{elem_id}; page says: {toast_text(browser)!r}")
    note = browser.find_element(By.CSS_SELECTOR, "#note textarea").get_attribute("value")
    assert "full photo (512x512)" in note
    if os.environ.get("LRMAKEUP_SCREENSHOT"):  # e.g. for a review: the page right after a transfer
        browser.save_screenshot(os.environ["LRMAKEUP_SCREENSHOT"])

    # The page's layout: examples right under the inputs (above the controls), the blend and face controls,
    # and a 64x64 upload that keeps its box's height instead of collapsing it to a strip.
    top = {i: browser.find_element(By.CSS_SELECTOR, f"#{i}").rect for i in ("source", "examples", "run", "intensity")}
    assert top["source"]["y"] < top["examples"]["y"] < top["intensity"]["y"]
    assert top["run"]["y"] + top["run"]["height"] < 1000  # the button is on the first screen
    browser.find_element(By.CSS_SELECTOR, "#blend-controls button").click()  # open the accordion
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#blend-reference"))
    for elem_id in ("blend-reference", "blend", "faces"):
        assert browser.find_elements(By.CSS_SELECTOR, f"#{elem_id}"), elem_id
    box = browser.find_element(By.CSS_SELECTOR, "#source").rect["height"]
    small = folder / "small64.png"
    Image.open(examples / "astronaut.png").resize((64, 64)).save(small)
    browser.find_element(By.CSS_SELECTOR, "#source button[aria-label='Clear']").click() if browser.find_elements(
        By.CSS_SELECTOR, "#source button[aria-label='Clear']") else None
    upload(browser, "source", small)
    assert browser.find_element(By.CSS_SELECTOR, "#source").rect["height"] >= 0.9 * box >= 200
    upload(browser, "source", examples / "astronaut.png")

    # Too many pixels a side: refused by the handler with the cap in one line, no traceback.
    wide = folder / "wide.png"
    Image.fromarray(np.full((40, 1600, 3), 128, np.uint8)).save(wide)
    upload(browser, "source", wide)
    browser.find_element(By.CSS_SELECTOR, "#run").click()
    WebDriverWait(browser, WAIT).until(lambda d: "1500 pixels a side" in toast_text(d),
                                       message=f"no cap message; page says: {toast_text(browser)!r}")
    assert "Traceback" not in browser.page_source

    # Too many bytes: a 3 MB noise PNG (over the 2 MB cap) is refused by gradio before it is stored.
    big = folder / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (1000, 1000, 3), np.uint8)).save(big)
    assert big.stat().st_size > LIMITS.max_bytes
    browser.find_element(By.CSS_SELECTOR, "#source input[type=file]").send_keys(str(big))
    WebDriverWait(browser, WAIT).until(lambda d: "maximum allowed size of 2.0" in toast_text(d),
                                       message=f"no size-cap message; page says: {toast_text(browser)!r}")

    # A built-in example fills both inputs and runs too (fresh page: grace_hopper + the astronaut's look).
    browser.get(url)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#examples tbody tr"))
    browser.find_elements(By.CSS_SELECTOR, "#examples tbody tr")[1].click()
    for elem_id in ("source", "reference"):
        WebDriverWait(browser, WAIT).until(lambda d, i=elem_id: d.find_elements(By.CSS_SELECTOR, f"#{i} img[src]"))
    browser.find_element(By.CSS_SELECTOR, "#run").click()
    WebDriverWait(browser, WAIT).until(
        lambda d: "full photo (512x600)" in d.find_element(By.CSS_SELECTOR, "#note textarea").get_attribute("value"),
        message=f"the example did not run; page says: {toast_text(browser)!r}")
    assert any(img.get_attribute("src") for img in browser.find_elements(By.CSS_SELECTOR, "#result img"))

    # Offline: the page fetched nothing from anywhere but the local server.
    assert requested_hosts(browser) <= {"127.0.0.1"}
