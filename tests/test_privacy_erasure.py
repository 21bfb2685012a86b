"""Erasure with the text removed also removes what screening derived from the text: the flags (words as
written), the MinHash signature and band keys, the duplicate links that would show the removed essay
beside another author's, and the high-risk mark. Kept anonymously, the text keeps its findings."""

from __future__ import annotations

import secrets
from typing import Any

import pgtest
from moderation_support import body_about
from starlette.testclient import TestClient
from support import csrf_from, db_write

from citizenvoice.domain import moderation
from citizenvoice.model.essays import new_tracking_code
from citizenvoice.store import essays as essay_store

DERIVED = ("essay_flags", "essay_shingle_bands", "essay_minhash")


def _screened(client: TestClient, body: str, phone: str) -> tuple[int, str]:
    token = secrets.token_urlsafe(32)
    new = essay_store.NewEssay(
        direction_id=1, headline="港口的清晨", body=body, author_role="resident", author_name="刘晓燕",
        affiliation="", byline_mode="full", phone=phone, email="", photo_path=None, consent_print=True,
    )  # fmt: skip

    async def create(conn: Any) -> int:
        essay_id = await essay_store.insert_essay(
            conn, new, tracking_code=new_tracking_code(), token=token, submit_ip="203.0.113.9"
        )
        await moderation.screen_submission(
            conn, essay_id, await moderation.load_screener(conn, client.app.state.screener)
        )
        return essay_id

    return db_write(client, create), token


def _delete(client: TestClient, token: str, keep_text: str) -> None:
    page = client.get(f"/track/{token}/delete")
    data = {"keep_text": keep_text, "confirm": "yes", "csrf_token": csrf_from(page.text)}
    assert client.post(f"/track/{token}/delete", data=data).status_code == 303


def test_removing_the_text_also_removes_what_screening_derived_from_it(client: TestClient) -> None:
    other_id, _ = _screened(client, body_about(5), "13587654321")
    essay_id, token = _screened(
        client, body_about(5) + "电话13912345678。", "13912345678"
    )  # a near-duplicate
    settings = client.app.state.settings

    def one(sql: str, params: tuple = ()) -> tuple:  # type: ignore[type-arg]
        return pgtest.query(settings, sql, params)[0]

    def derived(essay: int) -> list[int]:
        sql = "SELECT count(*) FROM {} WHERE essay_id = ?"
        return [one(sql.format(table), (essay,))[0] for table in DERIVED]

    def links() -> int:
        return one("SELECT count(*) FROM essay_duplicates")[0]

    assert all(derived(essay_id)) and links() == 1

    _delete(client, token, "anonymous")
    assert all(derived(essay_id)) and links() == 1  # the text stays, and so do its findings

    _delete(client, token, "remove")
    assert derived(essay_id) == [0, 0, 0] and links() == 0
    assert one("SELECT high_risk FROM essays WHERE id = ?", (essay_id,)) == (0,)
    assert all(derived(other_id)[1:])  # the other essay keeps its bands and signature (it has no flags)
