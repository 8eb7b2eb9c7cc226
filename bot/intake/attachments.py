"""What a citizen's file really is: the type from its bytes (not its name or declared type),
size limits, and photos re-encoded without EXIF (GPS positions must not leak from case files).
"""

from __future__ import annotations

from types import MappingProxyType

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = MappingProxyType({"jpeg": ".jpg", "png": ".png", "webp": ".webp"})
ALLOWED = MappingProxyType({
    "photo": {"jpeg", "png", "webp"},
    "document": {"jpeg", "png", "webp", "pdf", "docx", "mp4", "ogg", "mp3"},
    "voice": {"ogg", "mp3", "m4a"},
    "audio": {"ogg", "mp3", "m4a"},
    "video": {"mp4"},
    "video_note": {"mp4"},
    "sticker": {"webp", "webm", "tgs"},
})
EXTENSIONS = MappingProxyType({**IMAGE_TYPES, "pdf": ".pdf", "docx": ".docx", "mp4": ".mp4", "ogg": ".ogg", "mp3": ".mp3",
              "m4a": ".m4a", "webm": ".webm", "tgs": ".tgs"})


def sniff(data: bytes) -> str:
    """The file type named by its magic bytes, or '' when unknown."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    if data[4:8] == b"ftyp":
        return "m4a" if data[8:11] == b"M4A" else "mp4"
    if data.startswith(b"\x1aE\xdf\xa3"):
        return "webm"
    if data.startswith(b"PK\x03\x04") and b"word/" in data[:4096]:
        return "docx"
    if data.startswith(b"\x1f\x8b"):
        return "tgs"
    return ""


@dataclass(frozen=True)
class Checked:
    """The verdict on one file: bytes to store and their extension, or the reason it was refused."""

    ok: bool
    data: bytes = b""
    extension: str = ""
    reason: str = ""          # too_large | wrong_type | broken_image


def strip_metadata(data: bytes, kind: str) -> bytes:
    """Re-encode an image without EXIF/GPS, ICC or text chunks; the EXIF rotation is applied first."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        # Pillow writes metadata only when it is passed to save(): none is passed here.
        if kind == "jpeg":
            upright.convert("RGB").save(out, format="JPEG", quality=92)
        elif kind == "webp":
            upright.save(out, format="WEBP", quality=92)
        else:
            upright.save(out, format="PNG")
        return out.getvalue()


def check_attachment(kind: str, data: bytes, *, max_bytes: int) -> Checked:
    """Accept a file only if its bytes are an allowed type for its kind and within the size limit."""
    if len(data) > max_bytes:
        return Checked(False, reason="too_large")
    real = sniff(data)
    if real not in ALLOWED.get(kind, ALLOWED["document"]):
        return Checked(False, reason="wrong_type")
    if real in IMAGE_TYPES:
        try:
            data = strip_metadata(data, real)
        except (UnidentifiedImageError, OSError, ValueError, KeyError):
            return Checked(False, reason="broken_image")
    return Checked(True, data=data, extension=EXTENSIONS[real])
