"""`hfgen app` in a real browser: headless Chromium (Debian's chromium + chromium-driver, driven by selenium).

One app process per family (a tiny exported model), started together; one browser. Each test types/picks the
inputs, clicks Generate, waits for the gallery, decodes the PNGs the page shows and compares them with the
pipeline's output for that seed; a screenshot per family goes to docs/app_<family>.png (README, "Web demo") when
HFGEN_UPDATE_SCREENSHOTS=1 (else to a temporary folder, so a test run leaves the checkout clean)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app_models

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="Chromium is not installed: apt-get install chromium chromium-driver (.ci/run does)"),
    pytest.mark.usefixtures("one_torch_thread"),
]
selenium = pytest.importorskip("selenium", reason="selenium is missing: pip install -e '.[dev]'")
pytest.importorskip("gradio", reason="gradio is missing: pip install -e '.[app]'")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DIRECTION_LABELS = {"a_to_b": "A -> B (G)", "b_to_a": "B -> A (F)"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """family -> (url, folder, upload): one `hfgen app` process per family, all started at once (startup overlaps)."""
    root = tmp_path_factory.mktemp("browser_models")
    upload = root / "input.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(upload)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    procs, out = [], {}
    try:
        for family in app_models.FAMILIES:
            folder = app_models.build(family, root)
            port = _free_port()
            log = open(root / f"{family}.log", "w")
            procs.append(subprocess.Popen([sys.executable, "-m", "hfgen.cli", "app", str(folder), "--port", str(port)],
                                          stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True))
            out[family] = (f"http://127.0.0.1:{port}/", folder, str(upload), root / f"{family}.log")
        port = _free_port()  # and a page for a folder that does not exist
        procs.append(subprocess.Popen([sys.executable, "-m", "hfgen.cli", "app", str(root / "nowhere"), "--port", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        out["missing"] = (f"http://127.0.0.1:{port}/", root / "nowhere", None, root / "missing.log")
        (root / "missing.log").write_text("")
        deadline = time.time() + 240
        for family, (url, *_ , log) in out.items():
            while True:
                try:
                    urllib.request.urlopen(url, timeout=5).read(100)
                    break
                except OSError:
                    if time.time() > deadline:
                        pytest.fail(f"hfgen app for {family} did not answer at {url}:\n{log.read_text()}")
                    time.sleep(0.5)
        yield out
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _type_number(el, value):
    el.click()
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(str(value))
    el.send_keys(Keys.TAB)


def _pick(driver, name, text):
    box = driver.find_element(By.CSS_SELECTOR, f"#{name} input")
    box.click()
    option = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"#{name} li[role=option][aria-label='{text}']"))
    option.click()


def _fill(driver, name, value):
    """Sets one control of the page the way a user does (typing, picking, uploading, clicking)."""
    if name in ("seed", "num_images", "num_points", "num_inference_steps", "guidance_scale"):
        _type_number(driver.find_element(By.CSS_SELECTOR, f"#{name} input[type=number]"), value)
    elif name in ("class_label", "scheduler"):
        _pick(driver, name, value)
    elif name in ("prompt", "negative_prompt"):
        box = driver.find_element(By.CSS_SELECTOR, f"#{name} textarea, #{name} input")
        box.clear()
        box.send_keys(value)
    elif name == "image":
        driver.find_element(By.CSS_SELECTOR, "#image input[type=file]").send_keys(value)
        # uploaded: the file's name is listed and the preview shows it
        WebDriverWait(driver, 90).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#preview img"))
    elif name == "direction":
        driver.find_element(By.XPATH, f"//*[@id='direction']//label[contains(normalize-space(), '{DIRECTION_LABELS[value]}')]").click()
    elif name == "dropout":
        box = driver.find_element(By.CSS_SELECTOR, "#dropout input[type=checkbox]")
        if box.is_selected() != bool(value):
            box.click()
    else:
        raise KeyError(name)


FETCH_IMAGES = """
const done = arguments[arguments.length - 1];
Promise.all([...document.querySelectorAll('#gallery img')].map(async (img) => {
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = ''; for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
})).then(done, (e) => done('error: ' + e));
"""


def _shown_images(driver, count):
    """The images the gallery shows, decoded from the files the page loaded (PNG: exact pixels)."""
    WebDriverWait(driver, 120).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery img")) >= count)
    encoded = driver.execute_async_script(FETCH_IMAGES)
    assert not isinstance(encoded, str), encoded
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")) for data in encoded]


@pytest.mark.parametrize("family", app_models.FAMILIES)
def test_the_page_shows_the_pipelines_images_for_the_seed(family, apps, browser, tmp_path):
    """Guards the demo end to end in Chromium: the family's controls are on the page, the card's evaluation table
    beside the gallery (GAN), the inputs typed/picked/uploaded there reach the pipeline, and the images the page
    shows equal the pipeline's output for that seed. Text families first click with an empty prompt: the page
    shows the error message, not a traceback. Takes a screenshot (into docs/app_<family>.png with
    HFGEN_UPDATE_SCREENSHOTS=1)."""
    url, folder, upload, log = apps[family]
    inputs, call, _ = app_models.reference(family, folder, upload)
    browser.get(url)
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "generate").is_enabled())
    if "image" in inputs:  # an upload that is not an image is refused at once, with a message
        fake = Path(upload).with_name("notes.png")
        fake.write_text("not an image")
        browser.find_element(By.CSS_SELECTOR, "#image input[type=file]").send_keys(str(fake))
        WebDriverWait(browser, 60).until(lambda d: "notes.png is not an image PIL can read" in d.find_element(By.TAG_NAME, "body").text)
        browser.get(url)
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "generate").is_enabled())
    if "prompt" in inputs:
        browser.find_element(By.ID, "generate").click()
        WebDriverWait(browser, 60).until(lambda d: "Prompt is empty" in d.find_element(By.TAG_NAME, "body").text)
    for name, value in inputs.items():
        _fill(browser, name, value)
    browser.find_element(By.ID, "generate").click()
    expected = [np.asarray(image.convert("RGB")) for image in call(inputs.get("seed", 0))]
    shown = _shown_images(browser, len(expected))
    assert len(shown) == len(expected), log.read_text()
    np.testing.assert_array_equal(np.stack(shown), np.stack(expected))
    if family == "gan":
        assert "12.3457" in browser.find_element(By.ID, "evaluation").text
    time.sleep(0.5)  # let the thumbnails paint before the screenshot
    # docs/ is refreshed on request only, so that a test run leaves the checkout clean
    shots = ROOT / "docs" if os.environ.get("HFGEN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    assert browser.save_screenshot(str(shots / f"app_{family}.png"))


def test_a_missing_model_folder_starts_a_page_that_says_so(apps, browser):
    """Guards the broken-folder case in the browser: the app starts, the page names the problem, Generate is off."""
    browser.get(apps["missing"][0])
    error = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "load_error"))
    assert "Could not load the model" in error.text and "nowhere" in error.text
    assert not browser.find_element(By.ID, "generate").is_enabled()
