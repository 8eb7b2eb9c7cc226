"""The back office in real headless Chromium: an office head signs in by the link /dangnhap sent,
filters and searches the queue, accepts a ticket, answers it after the preview, extends and transfers
it; a leader reads the dashboard, reveals nothing by accident and downloads the three documents
(each opened with openpyxl / python-docx). Every page is shot at 360×800 and at 1280×900
(tmp_path, and DANVAN_SCREENSHOTS when set) and checked for horizontal overflow and CSP errors."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from bot.service.transactions import Service
from testkit.backoffice_driver import ask_link, make_ticket
from testkit.web_server import CHROMIUM, DRIVER, ServerThread, chromium
from testkit.office_driver import add_official
from testkit.petitions import DENOUNCER_NAME, DENOUNCER_PHONE, Spec, at, create

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason=(
    "headless Chromium is not installed: make system-deps"))]
PHONE, DESKTOP = (360, 800), (1280, 900)


@pytest.fixture
def chrome(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = chromium(f"--window-size={PHONE[0]},{PHONE[1]}", prefs={
        "download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def shoot(driver, tmp_path: Path, name: str) -> None:
    """The page at phone and desktop width (full height), checked for sideways scrolling at 360 px."""
    target = os.environ.get("DANVAN_SCREENSHOTS")
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        full = min(5000, driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, max(height, full))
        path = tmp_path / f"bo-{name}-{label}.png"
        driver.save_screenshot(str(path))
        if label == "phone":
            inner = driver.execute_script("return window.innerWidth")
            wide = driver.execute_script("return document.documentElement.scrollWidth")
            assert wide <= inner + 1, f"{name}: {wide}px wide on a {inner}px screen"
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(target) / path.name)
    driver.set_window_size(*PHONE)


def no_csp_errors(driver) -> None:
    logs = [e for e in driver.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert logs == [], logs


def submit(driver, element_id: str) -> None:
    """Click a button that submits a form and wait for the next page to load."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()

    def replaced(_driver) -> bool:
        # The old page's root is gone: chromedriver says so as a stale element or, mid-navigation,
        # as "Node with given id does not belong to the document".
        try:
            old.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(driver, 15, poll_frequency=0.05).until(replaced)
    WebDriverWait(driver, 15, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def open_action(driver, name: str):
    from selenium.webdriver.common.by import By

    block = driver.find_element(By.ID, f"act-{name}")
    block.find_element(By.TAG_NAME, "summary").click()
    return block


def test_head_works_a_ticket_from_the_queue(services, chrome, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    service = Service(services)
    add_official(services.engine, user_id="601", role="head", office="KT", name="Trần Thị Trưởng")
    ticket = make_ticket(services, accepted=False)
    late = create(services, Spec("phan_anh", "ha_tang", services.settings.hamlets[1], at(1, 10),
                                 description="Mương thoát nước xóm Đồng bị vỡ bờ, nước tràn ruộng lúa"))
    with ServerThread(services) as base:
        chrome.get(base + "/can-bo/dang-nhap")
        shoot(chrome, tmp_path, "1-login")
        link = ask_link(service, "601")
        chrome.get(base + link[link.index("/can-bo"):])
        shoot(chrome, tmp_path, "2-enter")
        submit(chrome, "enter")
        assert chrome.current_url.endswith("/can-bo/hang-doi")
        codes = [li.get_attribute("data-code") for li in chrome.find_elements(By.CSS_SELECTOR, "#queue li")]
        assert codes == [late.code, ticket.code]                    # the overdue one first
        assert "is-overdue" in chrome.find_element(By.CSS_SELECTOR, f'li[data-code="{late.code}"]').get_attribute("class")
        shoot(chrome, tmp_path, "3-queue")
        chrome.execute_script("document.querySelector('details.filters').open = true")
        chrome.find_element(By.ID, "q").send_keys("muong thoat nuoc")
        submit(chrome, "apply")
        codes = [li.get_attribute("data-code") for li in chrome.find_elements(By.CSS_SELECTOR, "#queue li")]
        assert codes == [late.code] and chrome.find_element(By.ID, "count-total").text == "1"
        chrome.get(base + "/can-bo/hang-doi")
        chrome.execute_script("document.querySelector('details.filters').open = true")
        Select(chrome.find_element(By.ID, "f-hamlet")).select_by_value(services.settings.hamlets[1])
        submit(chrome, "apply")
        assert [li.get_attribute("data-code") for li in chrome.find_elements(By.CSS_SELECTOR, "#queue li")] == [late.code]
        shoot(chrome, tmp_path, "4-queue-filtered")

        chrome.get(base + f"/can-bo/phieu/{ticket.code}")
        assert "Đèn đường thôn Mẫu 1" in chrome.find_element(By.ID, "ticket-text").text
        shoot(chrome, tmp_path, "5-ticket")
        open_action(chrome, "accept")
        submit(chrome, "do-accept")
        assert chrome.find_element(By.ID, "ticket-status").text == "Đã thụ lý"
        assert chrome.find_element(By.ID, "ticket-assignee").text == "Trần Thị Trưởng"
        answer = "Đơn vị đã kiểm tra, sẽ thay bóng đèn trước ngày 30/11/2026"
        block = open_action(chrome, "progress")
        block.find_element(By.TAG_NAME, "textarea").send_keys(answer)
        submit(chrome, "do-progress")
        preview = chrome.find_element(By.ID, "preview-text").text
        assert answer in preview and ticket.code in preview
        box = chrome.find_element(By.ID, "draft-text")
        box.clear()
        box.send_keys(answer + ".")
        submit(chrome, "preview-again")                              # edited: previewed again, not sent
        assert answer + "." in chrome.find_element(By.ID, "preview-text").text
        assert chrome.find_element(By.ID, "ticket-status").text == "Đã thụ lý"
        answer += "."
        shoot(chrome, tmp_path, "6-answer-preview")
        submit(chrome, "send")
        assert chrome.find_element(By.ID, "ticket-status").text == "Đang giải quyết"
        assert answer in chrome.find_element(By.ID, "history").text
        due = chrome.find_element(By.ID, "ticket-resolve-due").text
        block = open_action(chrome, "extend")
        block.find_element(By.TAG_NAME, "textarea").send_keys("Chờ cấp vật tư thay thế")
        submit(chrome, "do-extend")
        assert "gia hạn" in chrome.find_element(By.ID, "preview-text").text
        submit(chrome, "send")
        assert chrome.find_element(By.ID, "ticket-resolve-due").text != due
        shoot(chrome, tmp_path, "7-ticket-after")
        block = open_action(chrome, "transfer")
        Select(block.find_element(By.ID, "target")).select_by_value("VP")
        block.find_element(By.TAG_NAME, "textarea").send_keys("Nội dung thuộc Văn phòng")
        submit(chrome, "do-transfer")
        assert "chuyển khỏi đơn vị" in chrome.page_source
        shoot(chrome, tmp_path, "8-moved")
        no_csp_errors(chrome)


def test_leader_dashboard_and_documents(services, chrome, tmp_path):
    from docx import Document
    from openpyxl import load_workbook
    from selenium.webdriver.common.by import By

    service = Service(services)
    add_official(services.engine, user_id="602", role="leader", office=None, name="Chủ tịch UBND xã")
    make_ticket(services, accepted=False)
    create(services, Spec("phan_anh", "ha_tang", services.settings.hamlets[1], at(1, 10)))
    secret = create(services, Spec("to_cao", "can_bo", services.settings.hamlets[0], at(20, 11),
                                   contact=(DENOUNCER_NAME, DENOUNCER_PHONE),
                                   description="Tố cáo cán bộ thu tiền sai quy định khi làm thủ tục"))
    with ServerThread(services) as base:
        link = ask_link(service, "602")
        chrome.get(base + link[link.index("/can-bo"):])
        submit(chrome, "enter")
        assert chrome.current_url.endswith("/can-bo/tong-quan")
        assert chrome.find_element(By.ID, "year-received").text == "3"
        assert chrome.find_elements(By.CSS_SELECTOR, "#trend rect")
        assert "quá hạn" in chrome.find_element(By.ID, "overdue").text
        assert DENOUNCER_NAME not in chrome.page_source
        shoot(chrome, tmp_path, "9-dashboard")
        chrome.get(base + f"/can-bo/phieu/{secret.code}")
        assert DENOUNCER_NAME not in chrome.page_source
        shoot(chrome, tmp_path, "10-denunciation")
        chrome.get(base + "/can-bo/tai-lieu")
        shoot(chrome, tmp_path, "11-documents")
        for button in ("get-register", "get-report", "get-plan"):
            chrome.find_element(By.ID, button).click()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = [p for p in chrome.downloads.iterdir() if not p.name.endswith(".crdownload")]
            if len(done) == 3:
                break
            time.sleep(0.2)       # polling the download folder: Chromium says nothing when a file lands
        names = sorted(p.name for p in chrome.downloads.iterdir())
        assert len(names) == 3, names
        for path in chrome.downloads.iterdir():
            if path.suffix == ".docx":
                assert Document(str(path)).paragraphs
            else:
                assert load_workbook(str(path)).active.max_row >= 2
        chrome.get(base + "/can-bo/phieu/XG-2026-999999")
        assert "Không tìm thấy" in chrome.find_element(By.TAG_NAME, "h1").text
        shoot(chrome, tmp_path, "12-not-found")
        chrome.get(base + link[link.index("/can-bo"):])            # the link again: already used
        submit(chrome, "enter")
        assert chrome.find_element(By.ID, "enter-failed")
        shoot(chrome, tmp_path, "13-link-used")
        no_csp_errors(chrome)
