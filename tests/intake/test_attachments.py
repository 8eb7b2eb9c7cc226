"""Attachments are judged by their bytes: size, real type, EXIF stripped, generated names."""

from __future__ import annotations

import io

from PIL import Image

from bot.intake.attachments import check_attachment, sniff
from testkit.images import gps_photo


def test_photo_with_gps_is_stored_without_exif():
    checked = check_attachment("photo", gps_photo(), max_bytes=10**6)
    assert checked.ok and checked.extension == ".jpg"
    assert b"CanaryCam" not in checked.data and not Image.open(io.BytesIO(checked.data)).getexif()


def test_wrong_type_by_magic_bytes_and_oversize_are_refused():
    assert check_attachment("photo", b"MZ\x90\x00 this is an exe", max_bytes=10**6).reason == "wrong_type"
    assert check_attachment("photo", b"%PDF-1.7 not a photo", max_bytes=10**6).reason == "wrong_type"
    assert check_attachment("photo", b"\xff\xd8\xff\xe0 truncated", max_bytes=10**6).reason == "broken_image"
    assert check_attachment("document", b"%PDF-1.7" + b"x" * 100, max_bytes=50).reason == "too_large"
    assert check_attachment("document", b"%PDF-1.7 ok", max_bytes=10**6).extension == ".pdf"


def test_sniff_known_types():
    png = io.BytesIO()
    Image.new("RGB", (2, 2)).save(png, format="PNG")
    assert sniff(png.getvalue()) == "png"
    assert sniff(b"OggS\x00\x02") == "ogg" and sniff(b"\x00\x00\x00\x18ftypmp42") == "mp4"
    assert sniff(b"<html>") == ""
