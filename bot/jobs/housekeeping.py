"""The scheduler's other duties, beside reminders and digests: satisfaction-survey follow-ups,
report drafts for leaders, the daily personal-data retention purge, orphan uploads (hourly) and
the public doors' old counters (daily)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.intake.data_rights import purge_expired_personal_data
from bot.intake.upload_files import remove_orphan_uploads, web_folder
from bot.jobs.report_delivery import deliver_due_report
from bot.intake.surveys import run_due_survey_actions
from storage.doors import forget_before
from storage.engine import write_session

log = logging.getLogger(__name__)


def run_housekeeping(services: Any, memory: dict[str, Any]) -> int:
    """Run what is due; daily duties once per local day (`memory` is this process's note of that)."""
    now = services.clock.now()
    today = now.astimezone(services.settings.commune.tz).date().isoformat()
    written = sum(run_due_survey_actions(services, now).values())
    hour = now.strftime("%Y-%m-%dT%H")
    if memory.get("uploads_hour") != hour:
        doors = services.settings.doors
        # never before the web session of the upload has expired: its draft can no longer be sent
        keep = timedelta(hours=max(doors.orphan_upload_hours, doors.session_hours))
        remove_orphan_uploads(services.engine, web_folder(services.settings.storage.attachments_dir), now=now,
                              older_than=keep)
        memory["uploads_hour"] = hour
    if memory.get("housekeeping_day") != today:
        if deliver_due_report(services) is not None:
            written += 1
        with write_session(services.engine) as session:
            purged = purge_expired_personal_data(session, now=now,
                                                 retention_days=services.settings.privacy.retention_days)
        if purged:
            log.info("retention: personal data erased on %d finished petitions", purged)
        with write_session(services.engine) as session:
            forget_before(session, bucket=int(now.timestamp()) - 2 * 86400,
                          attempts_before=now - timedelta(days=7))
        memory["housekeeping_day"] = today
    return written
