"""Every user-facing text comes from a Jinja2 template under templates/<lang>/<audience>/.

Templates autoescape (the output is Telegram's HTML subset) and use StrictUndefined, so a
missing variable fails a test instead of a citizen. Button labels live in labels.yaml beside
the templates.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import templates as _templates_pkg

TEMPLATES_DIR = Path(_templates_pkg.__file__).resolve().parent
_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=4)
def labels(lang: str = "vi", root: Path = TEMPLATES_DIR) -> Mapping[str, str]:
    """The short texts of labels.yaml, for code that names things without a Texts at hand
    (deadline steps in SQL-built lists, chart titles). Read once per process."""
    return MappingProxyType(yaml.safe_load((root / lang / "labels.yaml").read_text(encoding="utf-8")))


def format_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, the way Vietnamese administration writes dates."""
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y")


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def html_to_plain(text: str) -> str:
    """Turn our HTML subset into plain text for channels without markup (console, Zalo)."""
    return html.unescape(_TAG.sub("", text))


class Texts:
    """Renders named templates and looks up button labels for one language."""

    def __init__(self, *, lang: str = "vi", root: Path = TEMPLATES_DIR, globals_: dict[str, Any] | None = None):
        self.lang = lang
        self._env = Environment(
            loader=FileSystemLoader(str(root / lang)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,          # templates do not change while running: no stat() per render
            cache_size=1000,
        )
        self._env.filters["ddmmyyyy"] = format_date
        self._env.globals.update(globals_ or {})
        self._labels: dict[str, str] = yaml.safe_load((root / lang / "labels.yaml").read_text(encoding="utf-8"))

    def render(self, name: str, /, **context: Any) -> str:
        """Render templates/<lang>/<name>.j2 with the context; trailing blank space trimmed."""
        return self._env.get_template(f"{name}.j2").render(**context).strip()

    def channel_name(self, channel: str) -> str:
        """The name of a channel code for people (labels.yaml `channel_<code>`), the code if it has none."""
        return self._labels.get(f"channel_{channel}", channel)

    def channel_names(self) -> dict[str, str]:
        """Every channel code with its name, for tables keyed by channel."""
        return {k.removeprefix("channel_"): v for k, v in self._labels.items() if k.startswith("channel_")}

    def label(self, key: str, /, **context: Any) -> str:
        """A short button label by key (labels.yaml); {name} placeholders filled from context."""
        text = self._labels[key]
        return text.format(**context) if context else text
