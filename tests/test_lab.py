"""JupyterLab as a learner meets it: `course.py lab`'s command, driven by headless Chromium.

Chapter 1's notebook opens with no unsaved mark, its first code cells run without an error, no
instructor-only nbgrader UI is shown (no Create Assignment panel, no Validate button), JupyterLab
asks nothing about news, and the server logs no error. Debian's Chromium and ChromeDriver drive it
(`course.py test` installs them as root with apt); without them the test is skipped.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHAPTER = "01_derivatives"
CODE_CELLS = 5  # the first code cells run: imports, the module's header, f, its plot, a loop

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pyproject's course extras)")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("Debian's chromium and chromium-driver are not installed: `course.py test` installs them "
                "when it runs as root with apt (else `sudo apt install chromium chromium-driver`)",
                allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def course_module():
    spec = importlib.util.spec_from_file_location("course_under_test", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lab(tmp_path):
    """`course.py lab`'s JupyterLab command on a free port, on a copy of chapter 1 as a learner gets
    it in work/, with fresh user settings (a learner's first start); yields (url, token, log)."""
    course = course_module()
    root = tmp_path / "work"
    (root / CHAPTER).mkdir(parents=True)
    notebook = min((ROOT / "chapters" / CHAPTER).glob("*.ipynb"))
    shutil.copy2(notebook, root / CHAPTER / notebook.name)
    course.match_kernel(root)  # what `lab` does to work/ before it starts JupyterLab
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    port, token = course.free_port(8950), secrets.token_hex(16)
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(course.lab_command(root, port, token), cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"JupyterLab did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield url, token, log_path, root / CHAPTER / notebook.name
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                     f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(argument)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: download nothing
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def visible_texts(driver, selector: str) -> list[str]:
    return [element.text.strip() for element in driver.find_elements(By.CSS_SELECTOR, selector)
            if element.is_displayed()]


def test_a_learner_opens_chapter_1_and_runs_its_first_cells(lab, browser, tmp_path):
    url, token, log_path, notebook = lab
    relative = f"{CHAPTER}/{notebook.name}"
    wait = WebDriverWait(browser, 30)
    browser.get(f"{url}/lab/tree/{relative}?token={token}")
    try:
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell"))
        # The kernel is up and idle: its status reply set the notebook's language metadata.
        wait.until(lambda d: d.execute_script(
            "const s = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');"
            "return s && s.getAttribute('data-status') === 'idle';"))
        time.sleep(1.0)  # whatever opening does to the model (metadata, trust) has happened by now
        tab = browser.find_element(By.CSS_SELECTOR, ".lm-TabBar-tab.jp-mod-current")
        assert "jp-mod-dirty" not in tab.get_attribute("class"), \
            "the notebook shows unsaved changes though nobody edited it"

        # Run the first code cells, as a learner does: select the first, then the toolbar's Run.
        browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").click()
        run = browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel-toolbar [data-command='notebook:run-cell-and-select-next']")
        ran = 0
        for _ in range(3 * CODE_CELLS):  # the markdown cells between them run too
            if ran == CODE_CELLS:
                break
            active = browser.find_element(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell.jp-mod-active")
            ran += "jp-CodeCell" in active.get_attribute("class")
            run.click()
        wait.until(lambda d: all(re.fullmatch(r"\[\d+\]:", prompt.text.strip())
                                 for prompt in d.find_elements(By.CSS_SELECTOR, ".jp-CodeCell .jp-InputPrompt")[:CODE_CELLS]))
        prompts = [p.text.strip() for p in browser.find_elements(By.CSS_SELECTOR, ".jp-CodeCell .jp-InputPrompt")[:CODE_CELLS]]
        assert prompts == [f"[{n}]:" for n in range(1, CODE_CELLS + 1)], prompts
        errors = [element.text for element in browser.find_elements(
            By.CSS_SELECTOR, ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
        assert errors == [], errors
        assert browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img"), "the plot was not drawn"

        # No instructor-only nbgrader UI: no Create Assignment panel, no Validate button.
        sidebar_tabs = [tab.get_attribute("title") or tab.text for tab in
                        browser.find_elements(By.CSS_SELECTOR, ".jp-SideBar .lm-TabBar-tab")]
        assert not any("assignment" in (title or "").lower() for title in sidebar_tabs), sidebar_tabs
        page = browser.find_element(By.TAG_NAME, "body").text
        for instructor_only in ("Create Assignment", "Formgrader", "Assignment List"):
            assert instructor_only not in page, f"{instructor_only!r} is shown to the learner"
        toolbar = visible_texts(browser, ".jp-NotebookPanel-toolbar .jp-Toolbar-item")
        assert not any("validate" in text.lower() for text in toolbar), toolbar
        # No news question: neither the toast nor the setting that asks it.
        assert "news" not in " ".join(visible_texts(browser, ".jp-Notification-Toast, .Toastify__toast")).lower()
        with urllib.request.urlopen(f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification"
                                    f"?token={token}", timeout=10) as response:
            notification = json.load(response)  # overrides.json sets the schema's defaults
        fetch_news = notification["settings"].get("fetchNews", notification["schema"]["properties"]["fetchNews"]["default"])
        assert fetch_news == "false", notification["schema"]["properties"]["fetchNews"]
    finally:
        browser.save_screenshot(str(tmp_path / "lab.png"))

    log = log_path.read_text()
    assert not re.search(r"\b5\d\d (GET|POST|PUT|PATCH|DELETE) ", log), log
    assert "Traceback" not in log, log
