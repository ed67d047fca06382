"""The web page at `/`, driven in a real headless Chromium against a real server on loopback.

Two models (EASE and iALS) are trained on MovieLens 100K and served by uvicorn in a thread;
Selenium drives Debian's `chromium` through `chromedriver` (`make test` installs both). Every
check compares what the page shows with what the JSON routes answer. Set
RECFORGE_SCREENSHOTS=DIR to keep a screenshot of the user and visitor views there.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    pytest.skip(
        f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); "
        "`make browser` installs them",
        allow_module_level=True,
    )

import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from recforge.data import load_movielens  # noqa: E402
from recforge.models import get  # noqa: E402
from recforge.serving.app import create_app  # noqa: E402
from recforge.serving.store import ModelStore  # noqa: E402

pytestmark = pytest.mark.ml100k

WAIT = 20  # seconds any one thing may take to show
Opener = Callable[..., WebDriver]  # the `page` fixture: open(hash="") loads the page afresh


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def server(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a uvicorn server on loopback serving 'ease' and 'ials'."""
    data = load_movielens(ml100k_dir)
    root = tmp_path_factory.mktemp("served")
    for name in ("ease", "ials"):
        model = get(name).fit(data.interactions)
        model.save(root / name, items=data.item_features, ratings=data.interactions)
    app = create_app(ModelStore(root), watch=0)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive(), "the server thread stopped"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: WebDriver, server: str) -> Iterator[Opener]:
    """open(hash): a fresh load of the page at `/` with that URL hash; after the test, the
    browser console must hold no error."""

    def open_page(fragment: str = "") -> WebDriver:
        browser.get("about:blank")  # a new document even when only the hash differs
        browser.get(f"{server}/{fragment}")
        wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        return browser

    browser.get_log("browser")  # drop what earlier tests left
    yield open_page
    assert console_errors(browser) == []


# ----------------------------------------------------------------------------- helpers
def api(server: str, path: str, body: Any = None, **params: Any) -> Any:
    url = f"{server}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    """condition's first truthy answer; a list re-rendered while it is read is read again."""
    return WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        condition
    )


def ready(driver: WebDriver, list_id: str, **data: str) -> WebElement:
    """The list `list_id` once it shows an answer (data-state="ready") for the given data-*
    attributes (user, model, genre, items)."""

    def check(d: WebDriver) -> WebElement | bool:
        node = d.find_element(By.ID, list_id)
        attrs = {"state": "ready", **data}
        ok = all(node.get_attribute(f"data-{k}") == v for k, v in attrs.items())
        return node if ok else False

    return wait(driver, check)  # type: ignore[no-any-return]


def titles(container: WebElement) -> list[str]:
    """The titles of a list's entries (read in one call: a history can be long)."""
    script = (
        "return Array.from(arguments[0].querySelectorAll(':scope > li[data-item] .title'),"
        " n => n.textContent)"
    )
    return list(container.parent.execute_script(script, container))


def entries(container: WebElement) -> list[WebElement]:
    return container.find_elements(By.CSS_SELECTOR, ":scope > li[data-item]")


def explanations_done(driver: WebDriver) -> list[WebElement]:
    """The recommendations' explanations once none is still loading."""

    def check(d: WebDriver) -> list[WebElement] | bool:
        nodes = d.find_elements(By.CSS_SELECTOR, "#recommendations .explanation")
        states = [n.get_attribute("data-state") for n in nodes]
        return nodes if nodes and "loading" not in states else False

    return wait(driver, check)  # type: ignore[no-any-return]


def console_errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def open_user(driver: WebDriver, user: str, model: str) -> None:
    """Wait for the user view (history, recommendations and explanations) to be complete."""
    ready(driver, "recommendations", user=user, model=model)
    ready(driver, "history", user=user, model=model)
    explanations_done(driver)


def screenshot(driver: WebDriver, name: str) -> None:
    where = os.environ.get("RECFORGE_SCREENSHOTS")
    if where:
        driver.save_screenshot(str(Path(where) / name))


def type_into(driver: WebDriver, element_id: str, text: str) -> None:
    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(text)


# ----------------------------------------------------------------------------- tests
def test_the_page_is_served_and_lists_both_models(page: Opener, server: str) -> None:
    driver = page()
    assert driver.title == "recforge"
    select = Select(driver.find_element(By.ID, "model-select"))
    assert [o.get_attribute("value") for o in select.options] == ["ease", "ials"]
    assert select.first_selected_option.text == "ease"
    assert driver.find_element(By.ID, "model-select").is_enabled()
    assert "943 users" in driver.find_element(By.ID, "model-info").text
    genres = Select(driver.find_element(By.ID, "genre-filter"))
    served = api(server, "/models")[0]["genres"]
    assert [o.get_attribute("value") for o in genres.options] == ["", *served]


def test_picking_a_user_shows_history_recommendations_and_why(page: Opener, server: str) -> None:
    driver = page()
    type_into(driver, "user-search", "1")

    def searched(d: WebDriver) -> bool:  # the list of ids starting with "1", not the first one
        found = [
            b.get_attribute("data-user") for b in d.find_elements(By.CLASS_NAME, "user-result")
        ]
        return bool(found) and all(str(u).startswith("1") for u in found)

    wait(driver, searched)
    driver.find_element(By.CSS_SELECTOR, '.user-result[data-user="1"]').click()
    open_user(driver, "1", "ease")
    assert driver.find_element(By.ID, "user-title").text == "User 1"
    assert driver.current_url.endswith("#user=1&model=ease")

    history = api(server, "/users/1/history", model="ease")["items"]
    shown = driver.find_element(By.ID, "history")
    assert titles(shown) == [h["title"] for h in history]
    toy = shown.find_element(By.CSS_SELECTOR, 'li[data-item="1"]')
    assert toy.find_element(By.CLASS_NAME, "title").text == "Toy Story (1995)"
    rating = toy.find_element(By.CLASS_NAME, "rating")
    toy_rating = next(h["rating"] for h in history if h["title"] == "Toy Story (1995)")
    assert float(rating.get_attribute("data-rating")) == toy_rating == 5.0
    assert rating.find_element(By.CLASS_NAME, "stars").text == "★★★★★"
    assert "Animation" in toy.text

    expected = api(server, "/users/1/recommendations", model="ease")["items"]
    recs = driver.find_element(By.ID, "recommendations")
    assert len(entries(recs)) == 10
    assert titles(recs) == [r["title"] for r in expected]
    rated = {h["title"] for h in history}
    for li in entries(recs):
        explanation = li.find_element(By.CLASS_NAME, "explanation")
        assert explanation.get_attribute("data-state") == "done"
        assert explanation.get_attribute("data-how") == "contribution"
        reasons = [r.text for r in explanation.find_elements(By.CLASS_NAME, "reason-title")]
        assert reasons, explanation.text
        assert set(reasons) <= rated
        assert explanation.text.startswith("Based on your ratings of ")
    screenshot(driver, "page-user.png")


def test_the_genre_filter_keeps_only_that_genre(page: Opener, server: str) -> None:
    driver = page("#user=1&model=ease")
    open_user(driver, "1", "ease")
    Select(driver.find_element(By.ID, "genre-filter")).select_by_value("Comedy")
    recs = ready(driver, "recommendations", user="1", model="ease", genre="Comedy")
    explanations_done(driver)
    expected = api(server, "/users/1/recommendations", model="ease", genres="Comedy")["items"]
    assert titles(recs) == [r["title"] for r in expected]
    assert len(entries(recs)) == 10
    for li in entries(recs):
        genres = [g.text for g in li.find_elements(By.CLASS_NAME, "genre")]
        assert "Comedy" in genres, li.text
    assert driver.current_url.endswith("#user=1&genre=Comedy&model=ease")


def test_switching_the_model_shows_that_models_list(page: Opener, server: str) -> None:
    driver = page("#user=1")
    open_user(driver, "1", "ease")
    before = titles(driver.find_element(By.ID, "recommendations"))
    Select(driver.find_element(By.ID, "model-select")).select_by_value("ials")
    open_user(driver, "1", "ials")
    after = titles(driver.find_element(By.ID, "recommendations"))
    expected = api(server, "/users/1/recommendations", model="ials")["items"]
    assert after == [r["title"] for r in expected]
    assert after != before
    hows = {e.get_attribute("data-how") for e in explanations_done(driver)}
    assert hows == {"similarity"}
    assert driver.current_url.endswith("#user=1&model=ials")


def test_a_new_visitor_gets_recommendations_from_the_movies_they_pick(
    page: Opener, server: str
) -> None:
    driver = page()
    driver.find_element(By.ID, "tab-visitor").click()
    assert driver.find_element(By.ID, "visitor-hint").is_displayed()

    def pick(text: str, title: str) -> None:
        type_into(driver, "visitor-search", text)
        button = wait(
            driver,
            lambda d: next(
                (b for b in d.find_elements(By.CSS_SELECTOR, ".item-result")
                 if b.find_element(By.CLASS_NAME, "title").text == title),
                False,
            ),
        )  # fmt: skip
        button.click()

    pick("star wars", "Star Wars (1977)")
    ready(driver, "visitor-recommendations", items="50", model="ease")
    pick("raiders lost", "Raiders of the Lost Ark (1981)")
    recs = ready(driver, "visitor-recommendations", items="50,174", model="ease")
    chips = driver.find_elements(By.CSS_SELECTOR, "#visitor-chips .chip-title")
    assert [c.text for c in chips] == ["Star Wars (1977)", "Raiders of the Lost Ark (1981)"]
    assert driver.find_element(By.ID, "visitor-search").get_attribute("value") == ""

    expected = api(server, "/recommendations/for-history", {"items": [50, 174], "model": "ease"})
    assert expected["fallback"] is None
    shown = titles(recs)
    assert len(shown) == 10
    assert shown == [r["title"] for r in expected["items"]]
    assert not {"Star Wars (1977)", "Raiders of the Lost Ark (1981)"} & set(shown)
    assert driver.current_url.endswith("#visitor=50,174&model=ease")
    screenshot(driver, "page-visitor.png")

    driver.find_element(By.CSS_SELECTOR, '.chip-remove[data-item="50"]').click()
    recs = ready(driver, "visitor-recommendations", items="174", model="ease")
    expected = api(server, "/recommendations/for-history", {"items": [174], "model": "ease"})
    assert titles(recs) == [r["title"] for r in expected["items"]]


def test_an_unknown_user_from_the_url_gets_popular_items_flagged(page: Opener, server: str) -> None:
    user = '<img src=x onerror="alert(1)">nobody'  # shown as text, never as markup
    driver = page("#" + urllib.parse.urlencode({"user": user, "model": "ials"}))
    recs = ready(driver, "recommendations", user=user, model="ials")
    ready(driver, "history", user=user, model="ials")
    notice = driver.find_element(By.ID, "fallback-notice")
    assert notice.is_displayed()
    assert notice.get_attribute("data-fallback") == "popularity"
    assert "most popular" in notice.text
    assert driver.find_element(By.ID, "user-title").text == f"User {user}"
    assert not driver.find_elements(By.CSS_SELECTOR, "img")
    path = f"/users/{urllib.parse.quote(user, safe='')}/recommendations"
    expected = api(server, path, model="ials")
    assert expected["fallback"] == "popularity"
    assert titles(recs) == [r["title"] for r in expected["items"]]
    first = entries(recs)[0].find_element(By.CLASS_NAME, "explanation").text
    assert first == f"Popular: {int(expected['items'][0]['score'])} ratings"
    assert not entries(driver.find_element(By.ID, "history"))


def test_the_browser_console_stays_clean(page: Opener) -> None:
    driver = page("#user=2&model=ials")
    open_user(driver, "2", "ials")
    Select(driver.find_element(By.ID, "genre-filter")).select_by_value("Drama")
    ready(driver, "recommendations", user="2", model="ials", genre="Drama")
    explanations_done(driver)
    driver.find_element(By.ID, "tab-visitor").click()
    type_into(driver, "visitor-search", "toy story")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".item-result"))
    driver.find_element(By.CSS_SELECTOR, ".item-result").click()
    ready(driver, "visitor-recommendations", items="1", model="ials")
    assert console_errors(driver) == []
