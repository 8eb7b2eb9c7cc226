"""Test configuration: the repo root, the test database URL, office chats and config writer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# A fixed data key for sealed columns in tests (production reads DANVAN_DATA_KEY from the environment).
os.environ.setdefault("DANVAN_DATA_KEY", "dGVzdC1rZXktZm9yLWRhbnZhbi10ZXN0cy0wMTIzNDU2Nzg5")
os.environ.setdefault("DANVAN_PIN_PEPPER", "test-pepper-for-danvan-tests")
PG_URL = os.environ.get("DANVAN_TEST_DATABASE_URL", "")
OFFICE_CHATS = {"VP": "-1001", "KT": "-1002", "VHXH": "-1003", "HCC": "-1004", "CA": "-1005", "QS": "-1006"}


def write_config(tmp_path: Path, mutate: Any = None) -> Path:
    """Copy config.yaml with test office chats (and an optional mutation) into tmp_path."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for office in raw["offices"]:
        office["telegram_chat_id"] = OFFICE_CHATS[office["code"]]
    raw["storage"]["attachments_dir"] = str(tmp_path / "attachments")
    raw["storage"]["delivery_journal"] = str(tmp_path / "outbox-delivered.journal")
    if mutate:
        mutate(raw)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path
