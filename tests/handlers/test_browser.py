"""Real headless Chromium on a phone-sized screen: a citizen files a petition in /chat (buttons,
typing, a photo), finds it on /tra-cuu with code + PIN (and is refused with a wrong PIN), and the
public page shows the new count. Screenshots go to tmp_path (and DANVAN_SCREENSHOTS if set)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from testkit.web_server import CHROMIUM, DRIVER, ServerThread, chromium
from testkit.images import png_bytes

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason=(
    "headless Chromium is not installed: apt-get install chromium chromium-driver (see .ci/run and the Makefile)"))


@pytest.fixture
def browser():
    driver = chromium(mobile={
        "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0},
        "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/120.0 Mobile Safari/537.36"})
    yield driver
    driver.quit()


def shoot(driver, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    target = os.environ.get("DANVAN_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.mark.slow
def test_citizen_files_in_chat_then_looks_it_up_on_a_phone(services, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15, poll_frequency=0.05)

    def press(label: str) -> None:
        xpath = f"//div[@id='choices']//button[contains(normalize-space(.), '{label}')]"
        try:
            wait.until(EC.element_to_be_clickable((By.XPATH, xpath))).click()
        except Exception:
            shoot(browser, tmp_path, f"failed-press-{label}")
            raise

    def bot_text_contains(text: str) -> None:
        wait.until(lambda d: any(text in m.text for m in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))

    def type_and_send(text: str) -> None:
        box = browser.find_element(By.ID, "text")
        box.send_keys(text)
        browser.find_element(By.ID, "send").click()

    photo = tmp_path / "cong.png"
    photo.write_bytes(png_bytes())
    with ServerThread(services) as base:
        browser.get(base + "/chat")
        assert browser.execute_script("return window.innerWidth") <= 420
        bot_text_contains("Xuân Giang")
        press("Đồng ý")
        press("Gửi phản ánh")
        press("Phản ánh")
        type_and_send("Cống thoát nước đầu thôn bị tắc, nước tràn ra đường mỗi khi mưa to")
        bot_text_contains("lĩnh vực nào")
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#choices button.choice")))
        browser.find_elements(By.CSS_SELECTOR, "#choices button.choice")[0].click()
        press("Mẫu 1")
        bot_text_contains("ảnh")
        browser.find_element(By.ID, "photo").send_keys(str(photo))
        bot_text_contains("1 ảnh")
        shoot(browser, tmp_path, "1-chat-photo")
        press("Tiếp tục")
        press("Một mình")
        press("Nhập họ tên")
        type_and_send("Nguyễn Văn An 0912 345 678")
        press("Bỏ qua địa chỉ")
        press("Gửi đơn")
        bot_text_contains("Mã PIN")
        shoot(browser, tmp_path, "2-chat-submitted")
        done = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".msg.bot") if "Mã PIN" in m.text][-1]
        code = re.search(r"XG-\d{4}-\d{6}", done).group(0)
        pin = re.search(r"Mã PIN:\s*(\d{6})", done).group(1)
        overflow = browser.execute_script("return document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, "the chat is wider than the phone screen"

        browser.get(base + "/tra-cuu")
        browser.find_element(By.ID, "code").send_keys(code)
        browser.find_element(By.ID, "pin").send_keys(f"{(int(pin) + 1) % 1_000_000:06d}")
        browser.find_element(By.CSS_SELECTOR, "form.lookup button").click()
        error = wait.until(EC.presence_of_element_located((By.ID, "lookup-error")))
        assert "Không tìm thấy" in error.text and not browser.find_elements(By.ID, "lookup-result")
        shoot(browser, tmp_path, "3-lookup-wrong-pin")
        browser.find_element(By.ID, "pin").send_keys(pin)
        browser.find_element(By.CSS_SELECTOR, "form.lookup button").click()
        result = wait.until(EC.presence_of_element_located((By.ID, "lookup-result")))
        assert code in result.text and "Phòng Kinh tế" in result.text and "Đã tiếp nhận" in result.text
        assert pin not in browser.current_url and code not in browser.current_url
        shoot(browser, tmp_path, "4-lookup-found")

        browser.get(base + "/")
        assert browser.find_element(By.ID, "stat-received").text == "1"
        assert "Hạ tầng" in browser.find_element(By.ID, "by-category").text
        assert "Nguyễn Văn An" not in browser.page_source and "0912" not in browser.page_source
        shoot(browser, tmp_path, "5-public")
        logs = [entry for entry in browser.get_log("browser") if "Content Security Policy" in entry.get("message", "")]
        assert logs == [], logs
