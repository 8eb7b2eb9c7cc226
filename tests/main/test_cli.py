"""The `danvan` command as a user runs it: deadlines, classify, config errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.main.cli import main
from testkit.config import ROOT

CASES = list(csv.DictReader((Path(__file__).resolve().parents[1] / "data" / "deadline_cases.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("row", CASES, ids=[r["case"] for r in CASES])
def test_deadline_json_matches_hand_checked_table(row, capsys):
    argv = ["--config", str(ROOT / "config.yaml"), "deadline", "--type", row["type"], "--received", row["received"],
            "--rules", row["rule_set"], "--json"]
    if row["accepted"]:
        argv += ["--accepted", row["accepted"]]
    assert main(argv) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == {"answer_due": row["answer_due"], "accept_due": row["accept_due"] or None,
                   "resolve_due": row["resolve_due"]}, row["why"]


def test_deadline_human_output_uses_vietnamese_dates(capsys):
    assert main(["--config", str(ROOT / "config.yaml"), "deadline", "--type", "khieu_nai",
                 "--received", "2026-11-26"]) == 0
    out = capsys.readouterr().out
    assert "Khiếu nại" in out and "Hạn thụ lý" in out and "/2026" in out


def test_classify_reads_lines_and_writes_json(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("duong bi sat lo khong di duoc\nTrộm cắp xe máy ban đêm ở xóm\n"))
    assert main(["--config", str(ROOT / "config.yaml"), "classify"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["category"] for x in lines] == ["ha_tang", "an_ninh"]
    assert lines[0]["office"] == "KT" and lines[1]["office"] == "CA"
    assert len(lines[0]["candidates"]) >= 3 and lines[0]["candidates"][0][0] == "ha_tang"


def test_invalid_config_names_file_key_and_reason(tmp_path):
    bad = (ROOT / "config.yaml").read_text(encoding="utf-8").replace("code: KT", "code: KX", 1)
    path = tmp_path / "config.yaml"
    path.write_text(bad, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot", "--config", str(path), "check-config"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert str(path) in proc.stderr and "offices.1.code" in proc.stderr and "KX" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_env_override_and_broken_yaml(tmp_path):
    from bot.config.settings import ConfigError, load_settings

    settings = load_settings(ROOT / "config.yaml", environ={"DANVAN__WEB__PORT": "9191",
                                                            "DANVAN__DEADLINES__RULE_SET": "2011"})
    assert settings.web.port == 9191 and settings.deadlines.rule_set == "2011"
    with pytest.raises(ConfigError, match="web.port"):
        load_settings(ROOT / "config.yaml", environ={"DANVAN__WEB__PORT": "not-a-port"})
    broken = tmp_path / "c.yaml"
    broken.write_text("commune: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_settings(broken, environ={})


def test_hotspot_listing_text():
    from types import SimpleNamespace as Spot

    from bot.main.cli import _say

    text = _say("hotspots", days=14, category_names={"ha_tang": "Hạ tầng"},
                spots=[Spot(kind="mass", cosigners=7, category="ha_tang", hamlet="Thôn Mẫu 1",
                            codes=["XG-2026-000001"])])
    assert "Điểm nóng trong 14 ngày gần đây: 1" in text
    assert "Đơn đông người (7 người ký): Hạ tầng – Thôn Mẫu 1: XG-2026-000001" in text
    assert "Không có điểm nóng" in _say("hotspots", days=14, category_names={}, spots=[])
