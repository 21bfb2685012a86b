"""Helpers for the review-level tests: the admin's setting, an essay placed at a stage."""

from __future__ import annotations

from starlette.testclient import TestClient
from support import csrf_from, db_write

from citizenvoice.web import sitesettings

SITE_TEXTS = {"site_name": "市民之声", "city": "锦州", "paper_name": "锦州日报", "column_title": "写给下一个五年", "lead": ""}


def set_levels(client: TestClient, levels: int | str) -> object:
    """Change review_levels the way an admin does (the client must be signed in as one)."""
    token = csrf_from(client.get("/admin/settings").text)
    return client.post("/admin/settings", data={**SITE_TEXTS, "review_levels": str(levels), "csrf_token": token})


def put_at_stage(client: TestClient, essay_id: int, stage: int) -> None:
    """Place a pending essay in a stage's queue directly (as an earlier setting would have left it)."""

    async def move(conn) -> None:  # type: ignore[no-untyped-def]
        await conn.execute("UPDATE essays SET review_stage = ?, version = version + 1 WHERE id = ?", (stage, essay_id))

    db_write(client, move)


def refresh_settings(client: TestClient) -> None:
    """Make this worker re-read the site settings now (another worker's change, without waiting 1 s)."""
    sitesettings.cache_for(client.app).__dict__["_checked_at"] = float("-inf")
