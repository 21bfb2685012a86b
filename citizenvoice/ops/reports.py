"""Reports for operators' cron mails: the moderation queue's health."""

from __future__ import annotations

import argparse
from typing import Any

from citizenvoice.domain import sitesettings
from citizenvoice.domain.moderation import QueueHealth, queue_health, report_lines
from citizenvoice.ops.commands import command, run_async
from citizenvoice.settings import Settings


@command("queue-report", "print the moderation queue's health (for a daily cron mail)")
def queue_report(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Any) -> QueueHealth:
        async with db.read() as conn:
            levels = (await sitesettings.load(conn, settings)).review_levels
            return await queue_health(conn, settings.queue_target_hours, levels=levels)

    health = run_async(settings, work)
    print("\n".join(report_lines(health)))
    return 0
