"""The audit trail of essays: every transition and edit is recorded (who, when, from, to, reason, note),
and the record is append-only: the database refuses UPDATE and DELETE on it, and no code issues one."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pgtest
import pytest
from factories import make_essay
from moderation_support import Staff, decide, essay, events, run_db

from citizenvoice.domain import moderation
from citizenvoice.store import moderation as store

ROOT = Path(__file__).resolve().parent.parent
TRAIL_TABLES = ("essay_events", "claim_events")


def test_every_decision_and_edit_is_recorded_with_who_when_from_to_reason_and_note(client) -> None:
    staff = Staff(client)
    staff.add("anna")
    staff.act_as("anna")
    essay_id = make_essay(client).id
    body = essay(client, essay_id).body
    assert decide(client, essay_id, "edit", headline="港口的灯光照亮回家之路", body=body, note="改标题").status_code == 303
    assert decide(client, essay_id, "approve", note="写得好").status_code == 303
    assert decide(client, essay_id, "unpublish", reason="作者要求撤下", note="已电话确认").status_code == 303
    recorded = [(e.action, e.from_status, e.to_status, e.actor_kind, e.actor_name, e.reason, e.note)
                for e in events(client, essay_id)]  # fmt: skip
    assert recorded == [
        ("submit", None, "pending", "author", None, "", ""),
        ("edit", "pending", "pending", "moderator", "anna", "", "改标题"),
        ("approve", "pending", "published", "moderator", "anna", "", "写得好"),
        ("unpublish", "published", "unpublished", "moderator", "anna", "作者要求撤下", "已电话确认"),
    ]
    assert all(e.created_at for e in events(client, essay_id))


def test_takeovers_and_releases_are_recorded_too(client) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id
    run_db(client, lambda conn: moderation.claim(conn, essay_id, a), write=True)
    run_db(client, lambda conn: moderation.claim(conn, essay_id, b, takeover=True), write=True)
    run_db(client, lambda conn: moderation.release(conn, essay_id, b), write=True)
    recorded = run_db(client, lambda conn: store.list_claim_events(conn, essay_id))
    assert [(e.action, e.user, e.previous) for e in recorded] == [("takeover", "bo", "anna"), ("release", "bo", None)]


@pytest.mark.parametrize("table", TRAIL_TABLES)
def test_the_database_refuses_to_change_or_delete_the_trail(client, table: str) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id
    run_db(client, lambda conn: moderation.claim(conn, essay_id, a), write=True)
    run_db(client, lambda conn: moderation.claim(conn, essay_id, b, takeover=True), write=True)
    settings = client.app.state.settings  # on either database (tests/pgtest.py)
    assert pgtest.query(settings, f"SELECT count(*) FROM {table}")[0][0] > 0  # noqa: S608
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        pgtest.execute(settings, f"UPDATE {table} SET created_at = '2000-01-01T00:00:00Z'")  # noqa: S608
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        pgtest.execute(settings, f"DELETE FROM {table}")  # noqa: S608


def test_no_code_updates_or_deletes_the_trail() -> None:
    tables = "|".join(TRAIL_TABLES)
    forbidden = re.compile(
        rf"\b(UPDATE(\s+OR\s+\w+)?\s+|DELETE\s+FROM\s+|REPLACE\s+INTO\s+|INSERT\s+OR\s+REPLACE\s+INTO\s+|"
        rf"DROP\s+TABLE\s+(IF\s+EXISTS\s+)?)[\"'`]?({tables})\b",
        re.IGNORECASE,
    )
    sources = [*(ROOT / "citizenvoice").rglob("*.py"), *(ROOT / "migrations").glob("*.sql")]
    assert len(sources) > 20
    offending = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path in sources
                 for m in forbidden.finditer(path.read_text(encoding="utf-8"))]  # fmt: skip
    assert offending == []
