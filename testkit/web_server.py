"""The real web app served from a thread of its own, and headless Chromium to drive it.

Selenium blocks, so the app runs on its own event loop in a daemon thread on 127.0.0.1 (an
ephemeral port); `with ServerThread(services) as base:` gives its base URL. `chromium(...)` starts
the headless browser every browser test uses, with the same flags."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from typing import Any

from aiohttp import web

from bot.main.composition import build_web_app

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-extensions", "--no-first-run",
         "--disable-sync", "--metrics-recording-only", "--lang=vi-VN")


class ServerThread:
    """The real web app on 127.0.0.1 in its own thread and event loop (Selenium blocks)."""

    def __init__(self, services) -> None:  # noqa: ANN001
        self.services = services
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(build_web_app(self.services, telegram=None))
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(30)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def chromium(*flags: str, mobile: dict[str, Any] | None = None, prefs: dict[str, Any] | None = None):  # noqa: ANN201
    """Headless Chromium through chromedriver: the common flags plus `flags`, optional mobile
    emulation and preferences; page loads time out after 30 s. The caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + flags:
        options.add_argument(flag)
    if mobile:
        options.add_experimental_option("mobileEmulation", mobile)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=DriverService(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver
