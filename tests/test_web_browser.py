"""The pages in a real browser: Debian's Chromium, headless, at a phone's size, driven by Selenium
through Debian's ChromeDriver (nothing is downloaded). A leader's dashboard with its villages,
numbers and chart; the report form opened as Telegram opens a Mini App (the signed initData in
the address fragment), filled in and counted; a forged initData refused.

Without Chromium these tests skip, unless TCNS_TEST_BROWSER=required (as `.ci/run` sets it).
Screenshots go to TCNS_SCREENSHOTS when it names a folder (docs/ keeps one).
"""

from __future__ import annotations

import asyncio
import functools
import os
import select
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from bot.pages import dashboard_html
from handlers.weblinks import Pass
from sandbox.telegram import FakeTelegram
from storage import units
from tests.harness import Clock
from tests.test_parent_sums import TEAMED, Commune, _weeks_of_reports, at
from tests.test_parent_sums import commune as commune  # the fixture
from tests.test_web import HUNG, LAN, Site, init_data, opened
from tests.test_web import site as site  # the fixture, shared with the HTTP tests
from tests.tg_world import HA_LAM, free_port

T = TypeVar("T")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (412, 915)  # CSS pixels of a common Android phone


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("TCNS_TEST_BROWSER") == "required":
            pytest.fail(f"no Chromium at {CHROMIUM} or ChromeDriver at {CHROMEDRIVER}")
        pytest.skip("Chromium and ChromeDriver are not installed (apt-get install chromium "
                    "chromium-driver)")  # fmt: skip
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--lang=vi",
    ):
        options.add_argument(argument)
    # A phone's viewport (a desktop window cannot be made this narrow).
    metrics = {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 1.0, "mobile": True}
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    options.add_experimental_option("prefs", {"intl.accept_languages": "vi-VN,vi"})
    # ChromeDriver started here, with the environment less libfaketime: the browser is the
    # outside world (a phone keeps its own time), and Selenium's start-up polling sleeps with
    # time.sleep, which libfaketime breaks (EINVAL) when the suite runs a year ahead.
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))}
    driver_process = subprocess.Popen(  # noqa: S603 (our own argument list)
        [CHROMEDRIVER, f"--port={port}"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _until_listening(port, driver_process)
        driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        # Killed and reaped without a timeout: Popen.wait(timeout=…) polls with time.sleep.
        driver_process.kill()
        driver_process.wait()


def _until_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    """Waits for ChromeDriver's port by trying to connect (no time.sleep: see above)."""
    for _attempt in range(int(seconds / 0.1)):
        if process.poll() is not None:
            raise RuntimeError(f"chromedriver exited with {process.returncode}")
        with socket.socket() as probe:
            probe.settimeout(0.1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        select.select([], [], [], 0.1)
    raise RuntimeError("chromedriver did not start")


async def off_loop(call: Callable[..., T], *args: Any) -> T:
    """Selenium blocks; the bot serving the page runs on this test's event loop."""
    return await asyncio.to_thread(call, *args)


async def wait_for(driver: Any, css: str, seconds: float = 15) -> Any:
    """The element once it is shown (polled on the event loop: WebDriverWait sleeps with
    time.sleep, which fails under libfaketime)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    def shown() -> Any:
        try:
            element = driver.find_element(By.CSS_SELECTOR, css)
            return element if element.is_displayed() else None
        except WebDriverException:
            return None

    for _attempt in range(int(seconds / 0.05)):
        found = await off_loop(shown)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{css} was not shown within {seconds} s")


async def screenshot(driver: Any, name: str, tmp_path: Path) -> Path:
    """The whole page at the phone's width."""
    height = await off_loop(driver.execute_script, "return document.body.scrollHeight")
    metrics = {"width": PHONE[0], "height": min(int(height), 5000), "deviceScaleFactor": 1,
               "mobile": True}  # fmt: skip
    await off_loop(driver.execute_cdp_cmd, "Emulation.setDeviceMetricsOverride", metrics)
    folder = Path(os.environ.get("TCNS_SCREENSHOTS") or tmp_path)
    await off_loop(functools.partial(folder.mkdir, parents=True, exist_ok=True))
    path = folder / name
    await off_loop(driver.save_screenshot, str(path))
    await off_loop(driver.execute_cdp_cmd, "Emulation.clearDeviceMetricsOverride", {})
    assert path.stat().st_size > 10_000
    return path


async def test_a_leaders_dashboard_in_a_browser(browser: Any, site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    progress = await site.talk.say(HA_LAM, LAN, "/tien_do")
    await off_loop(browser.get, await site.link(LAN, LAN))
    await wait_for(browser, "#progress")
    text = await off_loop(lambda: browser.find_element(By.TAG_NAME, "body").text)
    assert "Thôn Hà Lam" in text
    assert "Thôn Bình An" in text  # the commune's board, as /xep_hang shows it
    assert "17 · 8,5%" in text
    assert "Hộ được hướng dẫn: 17/200 hộ (8,5%)" in progress
    assert "còn thiếu 143" in text
    assert "Chưa báo cáo" in text  # the leader sees who has not reported
    chart = await wait_for(browser, "#trend svg")
    size = await off_loop(lambda: chart.size)
    assert size["width"] > 300
    assert size["height"] > 120
    lines = await off_loop(browser.find_elements, By.CSS_SELECTOR, "#trend polyline")
    assert len(lines) == 4
    # Fits a phone: nothing wider than the screen but the scrolling weekly table.
    width = await off_loop(browser.execute_script, "return document.documentElement.scrollWidth")
    assert width <= PHONE[0]
    await screenshot(browser, "dashboard.png", tmp_path)
    assert site.fake.errors == []


async def test_the_report_form_as_a_mini_app_in_a_browser(
    browser: Any, site: Site, clock: Clock, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    code = await site.talk.say(HA_LAM, LAN, "/ma_tham_gia")
    await site.talk.say(HUNG, HUNG, "/tham_gia " + code.split("/tham_gia ")[1].split()[0])
    init = init_data(site.fake, HUNG, at=clock().timestamp() - 30)
    # As Telegram opens a Mini App: the page's address with the signed data in its fragment.
    address = f"{site.base}/web/form#tgWebAppData={quote(init)}&tgWebAppVersion=8.0"
    await off_loop(browser.get, address)
    field = await wait_for(browser, "#v_ho")
    await off_loop(field.send_keys, "6")
    await off_loop(browser.find_element(By.ID, "v_app").send_keys, "2")
    await off_loop(browser.find_element(By.ID, "note").send_keys, "hộ ông Tư, cảm ơn ạ")
    await screenshot(browser, "form.png", tmp_path)
    before = len(site.fake.messages_to(HUNG))
    await off_loop(browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
    answer = await wait_for(browser, "#answer")
    assert "Đã ghi cho Lê Văn Hùng" in await off_loop(lambda: answer.text)
    header = await off_loop(lambda: browser.find_element(By.TAG_NAME, "h1").text)
    assert header == "Đã ghi"
    sent = await site.fake.wait_sent(before + 1, chat_id=HUNG)
    assert "Đã ghi cho Lê Văn Hùng" in (sent[-1].text or "")
    assert "23/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")

    # The same page with forged data (another person's id, the old signature): refused.
    forged = init.replace(f"%22id%22%3A{HUNG}", f"%22id%22%3A{LAN}")
    await off_loop(browser.get, "about:blank")  # else only the fragment changes: no load
    await off_loop(browser.get, f"{site.base}/web/form#tgWebAppData={quote(forged)}")
    refused = await wait_for(browser, "h1")
    assert "không hợp lệ" in await off_loop(lambda: refused.text)
    assert "23/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")
    assert site.fake.errors == []


async def test_the_keyboard_form_sends_the_report_through_telegram(
    browser: Any, fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    """Opened from the private keyboard's key, a Mini App has no initData: the page sends the
    report with Telegram's web_app_data_send event, which the Telegram client (here a stub of
    its webview bridge, then the sandbox) delivers as the person's own message."""
    async with opened(fake, database_url, clock, public_url="https://tcns.example.vn") as site:
        await _keyboard_form(browser, fake, site)


async def _keyboard_form(browser: Any, fake: FakeTelegram, site: Site) -> None:
    import json

    from selenium.webdriver.common.by import By

    bridge = await off_loop(
        browser.execute_cdp_cmd,
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.TelegramWebviewProxy = {postEvent: function (type, data) {"
                   " (window.__telegram = window.__telegram || []).push([type, data]); }};"},
    )  # fmt: skip
    try:
        code = await site.talk.say(HA_LAM, LAN, "/ma_tham_gia")
        await site.talk.say(HUNG, HUNG, "/tham_gia " + code.split("/tham_gia ")[1].split()[0])
        keyboard = fake.messages_to(HUNG)[-1].params["reply_markup"]["keyboard"]
        [key] = [b for row in keyboard for b in row if isinstance(b, dict) and "web_app" in b]
        url = key["web_app"]["url"].replace("https://tcns.example.vn", site.base)
        await off_loop(browser.get, url)
        field = await wait_for(browser, "#v_ho")
        await off_loop(field.send_keys, "3")
        await off_loop(browser.find_element(By.ID, "v_cks").send_keys, "1")
        await off_loop(browser.find_element(By.ID, "note").send_keys, "hai hộ\nhẹn lại")
        await off_loop(browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
        events = await off_loop(browser.execute_script, "return window.__telegram || []")
        assert [e[0] for e in events] == ["web_app_data_send"]
        data = json.loads(events[0][1])["data"]
        assert data.startswith("/bao_cao ho=3 cks=1 ngay=")
        assert data.endswith("ghi_chu=hai hộ hẹn lại")
        before = len(fake.messages_to(HUNG))
        await fake.user_sends_web_app_data(HUNG, data, button_text=key["text"])
        sent = await fake.wait_sent(before + 1, chat_id=HUNG)
        assert "Đã ghi cho Lê Văn Hùng" in (sent[-1].text or "")
        assert "20/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")
        assert fake.errors == []
    finally:
        await off_loop(
            browser.execute_cdp_cmd,
            "Page.removeScriptToEvaluateOnNewDocument",
            {"identifier": bridge["identifier"]},
        )


async def test_a_communes_first_screen_on_a_phone(
    browser: Any, commune: Commune, tmp_path: Path
) -> None:
    """The commune's dashboard opens on its villages, the ones behind first, fitting the phone;
    one tap on a village's count shows who has not reported."""
    from selenium.webdriver.common.by import By

    c = commune
    await _weeks_of_reports(c)
    today = date(2026, 11, 26)
    c.clock.now = at("2026-11-26T09:00")
    async with c.deps.sessions() as session:
        [unit] = await units.by_code(session, level="commune", code="20791")
    granted = Pass(unit.id or 0, "admin", c.clock.now + timedelta(days=1), "vi")
    html = await dashboard_html(c.deps, unit=unit, granted=granted, today=today, secret=None,
                                offline=True)  # fmt: skip
    page = tmp_path / "commune.html"
    await off_loop(page.write_text, html, "utf-8")
    await off_loop(browser.get, page.as_uri())
    table = await wait_for(browser, "#villages")
    location = await off_loop(lambda: table.location)
    assert location["y"] < PHONE[1] / 3  # the first thing under the title
    rows = await off_loop(browser.find_elements, By.CSS_SELECTOR, "#villages tbody tr")
    first = await off_loop(lambda: rows[0].text)
    assert first.startswith(min(TEAMED, key=c.score)), first  # the lowest score first
    assert "chưa có tổ" in await off_loop(lambda: rows[-1].text)
    width = await off_loop(browser.execute_script, "return document.documentElement.scrollWidth")
    assert width <= PHONE[0]
    # Hà Lam's count opens on a tap: Hùng has not reported this week.
    summaries = await off_loop(browser.find_elements, By.CSS_SELECTOR, "#villages summary")
    assert summaries
    for summary in summaries:
        await off_loop(summary.click)
    text = await off_loop(lambda: table.text)
    assert "Lê Văn Hùng" in text
    await screenshot(browser, "commune.png", tmp_path)
