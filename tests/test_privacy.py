"""Authors' rights: the privacy notice, the export of everything stored, erasure, and retention."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime, timedelta

import pgtest
from factories import make_essay
from starlette.testclient import TestClient
from support import add_user, csrf_from, db_read, db_write, login

from citizenvoice.domain import privacy
from citizenvoice.model.essays import Status
from citizenvoice.store import essays as essay_store
from citizenvoice.store import search

# Who wrote an essay (the personal data privacy is about), as make_essay's keyword arguments.
AUTHOR = {
    "author_name": "刘晓燕",
    "affiliation": "锦州港务集团调度中心主任",
    "phone": "13912345678",
    "email": "liuxy@example.cn",
    "submit_ip": "203.0.113.9",
}
OTHER = {
    "author_name": "孙建国",
    "affiliation": "",
    "phone": "13587654321",
    "email": "sunjg@example.com",
    "submit_ip": "198.51.100.7",
}
BODY = "我在港口工作了二十年。每天清晨，第一缕阳光照在吊机上，我就知道新的一天开始了。" * 8
PHOTO = b"\xff\xd8\xff\xe0 fake jpeg bytes for the test \xff\xd9"


_write = db_write
_read = db_read


def essay_row(client: TestClient, essay_id: int) -> dict:
    [row] = pgtest.records(client.app.state.settings, "SELECT * FROM essays WHERE id = ?", (essay_id,))
    return dict(zip(row.keys(), tuple(row), strict=True))


def searched(client: TestClient, query: str) -> list[search.SearchHit]:
    return _read(client, lambda conn: search.search(conn, query)).hits


def delete(client: TestClient, token: str, **data: str):
    page = client.get(f"/track/{token}/delete")
    assert page.status_code == 200
    return client.post(f"/track/{token}/delete", data={**data, "csrf_token": csrf_from(page.text)})


def database_text(client: TestClient) -> str:
    return pgtest.dump_text(client.app.state.settings)


# ---------------------------------------------------------------------------------------------------
# notice


def test_privacy_notice_explains_collection_retention_and_rights(client, settings):
    response = client.get("/privacy")
    assert response.status_code == 200
    text = response.text
    for words in (
        "手机号",
        "电子邮箱",
        "照片",
        "IP 地址",
        f"{settings.retention_days} 天后自动删除",
        "个人信息保护法",
        "下载",
        "删除",
        "锦州市民",
    ):
        assert words in text
    assert 'href="/privacy"' in client.get("/").text  # linked from every page's footer


# ---------------------------------------------------------------------------------------------------
# export


def test_export_holds_everything_about_the_essay_and_nothing_else(client):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    make_essay(client, Status.PUBLISHED, **OTHER, headline="另一位作者的文章", body="别人的正文。" * 80, photo=PHOTO)
    add_user(client, "moderator-wu", "moderator")

    response = client.get(f"/track/{token}/export.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["referrer-policy"] == "no-referrer"
    doc = response.json()

    essay = doc["essay"]
    assert essay["id"] == essay_id and essay["status"] == "published" and essay["status_label"] == "已发布"
    assert (
        essay["author_name"],
        essay["affiliation"],
        essay["phone"],
        essay["email"],
    ) == (AUTHOR["author_name"], AUTHOR["affiliation"], AUTHOR["phone"], AUTHOR["email"])
    assert essay["body"] == BODY and essay["direction_name"]
    assert base64.b64decode(doc["photo"]["base64"]) == PHOTO and doc["photo"]["content_type"] == "image/jpeg"
    assert [r["number"] for r in doc["revisions"]] == [1] and doc["revisions"][0]["body"] == BODY
    assert [(e["action"], e["to_status"]) for e in doc["events"]] == [
        ("submit", "pending"),
        ("approve", "published"),
    ]

    raw = response.text
    assert "token_hash" not in raw and token not in raw
    assert essay_store.token_hash(token) not in raw
    for value in OTHER.values():
        if value:
            assert value not in raw
    assert "另一位作者" not in raw and "moderator-wu" not in raw


def test_export_of_unknown_token_is_not_found(client):
    make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    response = client.get(f"/track/{secrets.token_urlsafe(32)}/export.json")
    assert response.status_code == 404
    assert AUTHOR["phone"] not in response.text


# ---------------------------------------------------------------------------------------------------
# erasure


def test_delete_needs_a_choice_and_a_confirmation(client):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    response = delete(client, token, keep_text="remove")
    assert response.status_code == 422
    assert "请勾选确认" in response.text and 'value="remove" checked' in response.text
    response = delete(client, token, confirm="yes")
    assert response.status_code == 422 and "请选择文章的处理方式。" in response.text
    assert essay_row(client, essay_id)["phone"] == AUTHOR["phone"]


def test_delete_without_csrf_token_changes_nothing(client):
    essay_id, token = make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    client.get(f"/track/{token}/delete")
    response = client.post(f"/track/{token}/delete", data={"keep_text": "remove", "confirm": "yes"})
    assert response.status_code == 403
    assert essay_row(client, essay_id)["author_name"] == AUTHOR["author_name"]


def test_delete_keeping_the_text_anonymously(client):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    photo = client.app.state.settings.media_path / essay_row(client, essay_id)["photo_path"]
    assert AUTHOR["author_name"] in searched(client, "吊机")[0].byline_html

    response = delete(client, token, keep_text="anonymous", confirm="yes")
    assert response.status_code == 303
    row = essay_row(client, essay_id)
    assert row["author_name"] == "" and row["affiliation"] == ""
    assert (
        row["phone"] is None
        and row["email"] is None
        and row["photo_path"] is None
        and row["submit_ip"] is None
    )
    assert row["status"] == "published" and row["body"] == BODY and row["personal_data_erased_at"]
    assert not photo.exists()
    hits = searched(client, "吊机")
    assert [h.essay_id for h in hits] == [essay_id] and hits[0].byline_html == "锦州市民"
    assert searched(client, AUTHOR["author_name"]) == []
    dump = database_text(client)
    for value in AUTHOR.values():
        assert value not in dump

    done = client.get(response.headers["location"])
    assert "您的个人信息已删除" in done.text and "锦州市民" in done.text
    export = client.get(f"/track/{token}/export.json").json()
    assert export["essay"]["phone"] is None and export["photo"] is None
    assert export["erasure_requests"][0]["keep_text"] == "anonymous"
    assert export["events"][-1]["action"] == "erase"


def test_delete_removing_the_text_takes_it_offline(client):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    assert searched(client, "吊机")
    response = delete(client, token, keep_text="remove", confirm="yes")
    assert response.status_code == 303
    row = essay_row(client, essay_id)
    assert row["status"] == "withdrawn" and row["body"] == "" and row["headline"] == privacy.REMOVED_HEADLINE
    assert row["phone"] is None and row["author_name"] == "" and row["text_removed_at"]
    assert searched(client, "吊机") == []
    dump = database_text(client)
    assert "第一缕阳光" not in dump  # no revision keeps the words either
    for value in AUTHOR.values():
        assert value not in dump
    assert "文章正文也已删除" in client.get(response.headers["location"]).text


def test_printed_essay_can_still_be_taken_off_the_site(client):
    essay_id, token = make_essay(client, Status.PRINTED, **AUTHOR, body=BODY, photo=PHOTO)
    page = client.get(f"/track/{token}/delete")
    assert "已印刷的报纸无法收回" in page.text
    assert delete(client, token, keep_text="remove", confirm="yes").status_code == 303
    assert essay_row(client, essay_id)["status"] == "withdrawn"
    assert searched(client, "吊机") == []


def test_pending_essay_kept_anonymously_stays_in_the_queue(client):
    essay_id, token = make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    assert delete(client, token, keep_text="anonymous", confirm="yes").status_code == 303
    row = essay_row(client, essay_id)
    assert row["status"] == "pending" and row["author_name"] == "" and row["body"] == BODY


def test_text_kept_anonymously_can_be_removed_later(client):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    delete(client, token, keep_text="anonymous", confirm="yes")
    page = client.get(f"/track/{token}/delete").text
    assert 'value="anonymous"' not in page and "删除正文" in page
    assert delete(client, token, keep_text="remove", confirm="yes").status_code == 303
    assert essay_row(client, essay_id)["status"] == "withdrawn" and searched(client, "吊机") == []


def test_erasure_leaves_other_essays_alone(client):
    _, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    other_id, _ = make_essay(client, Status.PUBLISHED, **OTHER, headline="海边的图书馆", body="图书馆的故事。" * 80,
                             photo=PHOTO)
    delete(client, token, keep_text="remove", confirm="yes")
    other = essay_row(client, other_id)
    assert (other["phone"], other["author_name"], other["status"]) == (
        OTHER["phone"],
        OTHER["author_name"],
        "published",
    )
    assert (client.app.state.settings.media_path / other["photo_path"]).exists()
    assert [h.essay_id for h in searched(client, "图书馆")] == [other_id]


# ---------------------------------------------------------------------------------------------------
# retention


def _purge(client: TestClient, now: datetime) -> privacy.PurgeReport:
    settings = client.app.state.settings
    return client.portal.call(
        lambda: privacy.purge(
            client.app.state.db,
            retention_days=settings.retention_days,
            media_dir=settings.media_path,
            city="锦州",
            now=now,
        )
    )


def _add_rate_rows(client: TestClient, at: float) -> None:
    settings = client.app.state.settings
    pgtest.execute(settings, "INSERT INTO rate_events (bucket, key_hash, created_at) VALUES ('submit-ip', 'h', ?)",
                   (at,))  # fmt: skip
    pgtest.execute(settings, "INSERT INTO login_failures (username, ip_hash, created_at) VALUES ('x', 'h', ?)", (at,))


def test_purge_erases_old_rejected_and_withdrawn_essays_once(client, settings):
    rejected, _ = make_essay(client, Status.REJECTED, **AUTHOR, body=BODY, photo=PHOTO)
    withdrawn, _ = make_essay(client, Status.WITHDRAWN, **OTHER, body=BODY)
    published, _ = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    pending, _ = make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    rejected_photo = settings.media_path / essay_row(client, rejected)["photo_path"]
    later = datetime.now(UTC) + timedelta(days=settings.retention_days, hours=1)
    _add_rate_rows(client, (later - timedelta(days=2)).timestamp())
    _add_rate_rows(client, later.timestamp())

    early = _purge(client, datetime.now(UTC) + timedelta(days=settings.retention_days - 1))
    assert early.essays == 0 and essay_row(client, rejected)["phone"] == AUTHOR["phone"]

    report = _purge(client, later)
    assert (report.essays, report.photos, report.rate_events, report.login_failures) == (2, 1, 1, 1)
    for essay_id in (rejected, withdrawn):
        row = essay_row(client, essay_id)
        assert row["phone"] is None and row["email"] is None and row["author_name"] == ""
        assert row["submit_ip"] is None and row["personal_data_erased_at"]
    assert not rejected_photo.exists()
    assert essay_row(client, rejected)["status"] == "rejected"
    for essay_id in (published, pending):  # still needed: kept, except the IP past its window
        row = essay_row(client, essay_id)
        assert (
            row["phone"] == AUTHOR["phone"]
            and row["author_name"] == AUTHOR["author_name"]
            and row["submit_ip"] is None
        )

    again = _purge(client, later)
    assert (again.essays, again.photos, again.ips, again.rate_events, again.login_failures) == (0, 0, 0, 0, 0)
    [(events,)] = pgtest.query(
        settings, "SELECT count(*) FROM essay_events WHERE essay_id = ? AND action = 'erase'", (rejected,)
    )
    assert events == 1


def test_purge_keeps_ips_still_inside_the_rate_limit_window(client):
    essay_id, _ = make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    report = _purge(client, datetime.now(UTC))
    assert report.ips == 0 and essay_row(client, essay_id)["submit_ip"] == AUTHOR["submit_ip"]


def _place_on_print_page(client: TestClient, essay_id: int) -> None:
    """What the print desk keeps about an essay: a slot, a print version, a verification, a sign-off."""
    settings = client.app.state.settings

    def run(sql: str, params: tuple = ()) -> None:  # type: ignore[type-arg]
        pgtest.execute(settings, sql, params)

    run(
        "INSERT INTO print_pages (id, paper, pub_date, page_label, column_title, slots, created_at, updated_at)"
        " VALUES (1, '锦州日报', '2026-11-24', 'T08', '写给下一个五年', 4, 'now', 'now')"
    )
    run("INSERT INTO print_slots (page_id, essay_id, position) VALUES (1, ?, 1)", (essay_id,))
    run(
        "INSERT INTO print_versions (id, page_id, essay_id, number, headline, byline, body, char_count, created_at)"
        " VALUES (1, 1, ?, 1, '港口的清晨', ?, ?, 480, 'now')",
        (essay_id, f"{AUTHOR['affiliation']} {AUTHOR['author_name']}", BODY[:480]),
    )
    run("INSERT INTO users (username, password_hash) VALUES ('ed', 'x')")
    [(user_id,)] = pgtest.query(settings, "SELECT id FROM users WHERE username = 'ed'")
    run(
        "INSERT INTO author_verifications (essay_id, user_id, note, created_at) VALUES (?, ?, ?, 'now')",
        (essay_id, user_id, f"已致电 {AUTHOR['phone']}，{AUTHOR['author_name']}本人确认"),
    )
    run(
        "INSERT INTO signoff_requests (page_id, essay_id, print_version_id, requested_at, answer, answer_note)"
        " VALUES (1, ?, 1, 'now', 'objected', '请保留第二段，我是刘晓燕')",
        (essay_id,),
    )


def test_erasure_reaches_the_print_desk_copies(client):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    _place_on_print_page(client, essay_id)
    assert delete(client, token, keep_text="anonymous", confirm="yes").status_code == 303
    settings = client.app.state.settings

    def one(sql: str) -> tuple:  # type: ignore[type-arg]
        return pgtest.query(settings, sql)[0]

    assert one("SELECT byline, body FROM print_versions") == ("锦州市民", BODY[:480])
    assert (
        one("SELECT count(*) FROM print_slots")[0] == 1
    )  # still on the page, anonymously
    dump = database_text(client)
    for value in AUTHOR.values():
        assert value not in dump
    assert "我是刘晓燕" not in dump

    assert delete(client, token, keep_text="remove", confirm="yes").status_code == 303
    assert one("SELECT body FROM print_versions") == ("",)
    assert one("SELECT count(*) FROM print_slots")[0] == 0  # off the draft page


def test_a_photo_shared_with_another_essay_survives_erasure(client):
    first_id, token = make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    shared = essay_row(client, first_id)["photo_path"]
    second_id, _ = make_essay(client, **OTHER, body=BODY)
    # photos are stored by content: the same picture uploaded twice is one file
    pgtest.execute(client.app.state.settings, "UPDATE essays SET photo_path = ? WHERE id = ?", (shared, second_id))
    delete(client, token, keep_text="remove", confirm="yes")
    assert (client.app.state.settings.media_path / shared).read_bytes() == PHOTO
    assert essay_row(client, second_id)["photo_path"] == shared


def _history(html: str) -> list[str]:
    """The tracking page's history, newest first, one "who：what" line per event."""
    history = html.split('<ol class="history">')[1].split("</ol>")[0]
    return [" ".join(s.split()) for s in re.findall(r"</time>\s*<span>([^<]*)</span>", history)]


def test_erasure_shows_in_chinese_in_every_event_history(client, settings):
    essay_id, token = make_essay(client, Status.PUBLISHED, **AUTHOR, body=BODY, photo=PHOTO)
    assert delete(client, token, keep_text="anonymous", confirm="yes").status_code == 303
    assert _history(client.get(f"/track/{token}").text)[0] == "您：删除个人信息"

    rejected, rejected_token = make_essay(client, Status.REJECTED, **OTHER, body=BODY)
    _purge(client, datetime.now(UTC) + timedelta(days=settings.retention_days, hours=1))
    assert _history(client.get(f"/track/{rejected_token}").text)[0] == "系统：删除个人信息"

    add_user(client, "moderator-wang", "moderator")
    login(client, "moderator-wang")
    for item in (essay_id, rejected):
        page = client.get(f"/moderate/{item}").text
        assert "<td>删除个人信息</td>" in page and ">erase<" not in page
