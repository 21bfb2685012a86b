"""Reporter-compiled essays (记者整理): entered at /editor/essays on an author's behalf, the same rules
as the resident's form, the mark the moderator sees, the author everywhere public, the page credits."""

from __future__ import annotations

import io
import re
import zipfile

import pgtest
from factories import make_essay
from messaging_helpers import deliver, outbox, quiet
from moderation_support import Staff, decide
from submit_helpers import BODY, PHONE, count, parse, valid_form
from support import csrf_from, db_read, db_write, login
from test_submit import jpeg_with_gps, media_files

from citizenvoice.domain import accounts, submission
from citizenvoice.store import compiled as compiled_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.store import users as user_store

REPORTER = "孙晓燕"
ENTERED = re.compile(r"^/editor/essays/(\d+)/entered/([A-Za-z0-9_-]+)$")


def add_reporter(client, username: str = "sunxy", display_name: str = REPORTER, *roles: str) -> int:
    async def create(conn):
        return await user_store.create_user(conn, username, accounts.hash_password("correct horse battery"),
                                            set(roles or ("editor",)), display_name)

    return db_write(client, create)


def compiled_form(client, **overrides: str) -> dict[str, str]:
    page = parse(client.get("/editor/essays/new").text)
    token = page.find("input", name="form_token").get("value")
    data = {**valid_form(author_name="刘桂兰", affiliation="城南街道幸福社区居民"), "source": "interview",
            "consent_note": "11月20日在社区采访时当面确认，同意网站发表和见报", "form_token": token,
            "csrf_token": csrf_from(client.get("/editor/essays/new").text)}
    data.update(overrides)
    return data


def enter(client, files=None, **overrides: str):
    return client.post("/editor/essays", data=compiled_form(client, **overrides), files=files)


def test_the_form_has_the_residents_fields_worded_for_the_author(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    reporter = parse(client.get("/editor/essays/new").text)
    resident = parse(client.get("/submit").text)
    for name in ("headline", "body", "direction", "author_role", "author_name", "affiliation", "phone", "photo"):
        assert reporter.find(id=name) is not None and resident.find(id=name) is not None, name
    def role_label(page) -> str:
        return next(label.text() for label in page.find_all("label") if label.get("for") == "author_role")

    assert role_label(reporter).startswith("作者身份") and role_label(resident).startswith("您的身份")


def test_a_reporter_enters_an_essay_and_sees_the_tracking_code_and_link(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    response = enter(client)
    assert response.status_code == 303
    match = ENTERED.match(response.headers["location"])
    assert match, response.headers["location"]
    essay_id, token = int(match.group(1)), match.group(2)
    receipt = client.get(response.headers["location"])
    assert receipt.status_code == 200
    assert receipt.headers["cache-control"] == "no-store"
    page = parse(receipt.text)
    essay = db_read(client, essay_store.get_essay, essay_id)
    assert page.by_id("tracking-code").text() == essay.tracking_code
    assert page.by_id("tracking-link").get("href") == f"http://127.0.0.1:8000/track/{token}"
    # the essay is the author's, pending, in the author's words
    assert (essay.status, essay.author_name, essay.headline) == ("pending", "刘桂兰", "河堤上的新步道")
    mark = db_read(client, compiled_store.mark_of, essay_id)
    assert (mark.source, mark.reporter) == ("interview", REPORTER)
    # the author's tracking link works and says a reporter entered it
    client.cookies.clear()
    track = client.get(f"/track/{token}")
    assert track.status_code == 200 and "河堤上的新步道" in track.text
    assert "本报记者代您整理录入" in track.text


def test_the_author_gets_the_tracking_link_by_sms_and_hears_of_the_decision(client) -> None:
    quiet(client)
    add_reporter(client)
    login(client, "sunxy")
    response = enter(client, phone="13912345678", email="liugl@example.cn")
    essay_id = int(ENTERED.match(response.headers["location"]).group(1))
    # the reporter is told the author has the link, by the phone's last four digits only
    notice = parse(client.get(response.headers["location"]).text).by_id("sms-sent").text()
    assert "尾号 5678" in notice and "13912345678" not in notice and "邮件" in notice
    assert deliver(client) == 2
    essay = db_read(client, essay_store.get_essay, essay_id)
    receipts = [line for line in outbox(client) if line["template"] == "received"]
    assert [line["to"] for line in receipts] == ["13912345678", "liugl@example.cn"]
    sms = receipts[0]
    assert essay.tracking_code in sms["text"] and "河堤上的新步道" in sms["text"]
    # the link in the SMS opens the author's page, where the author can correct or withdraw it
    client.cookies.clear()
    page = client.get(sms["params"]["link"].removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200 and essay.tracking_code in page.text and "撤回" in page.text
    # and the author hears of the decision like any resident
    staff = Staff(client)
    staff.add("mod")
    staff.act_as("mod")
    assert decide(client, essay_id, "approve").status_code == 303
    deliver(client)
    published = [line for line in outbox(client) if line["template"] == "published" and line["to"] == "13912345678"]
    assert len(published) == 1 and published[0]["params"]["link"].endswith(f"/essays/{essay_id}")


def test_a_photo_from_the_interview_is_reencoded_and_shown_once_published(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    response = enter(client, files={"photo": ("IMG_0420.jpg", jpeg_with_gps((1200, 900)), "image/jpeg")})
    assert response.status_code == 303, response.text
    essay_id = int(ENTERED.match(response.headers["location"]).group(1))
    essay = db_read(client, essay_store.get_essay, essay_id)
    stored = (client.app.state.settings.media_path / essay.photo_path).read_bytes()
    assert b"TestCam" not in stored  # stripped like a resident's photo
    staff = Staff(client)
    staff.add("mod")
    staff.act_as("mod")
    assert "有照片" in client.get("/moderate").text
    assert decide(client, essay_id, "approve").status_code == 303
    client.cookies.clear()
    assert f"/essays/{essay_id}/photo" in client.get(f"/essays/{essay_id}").text


def test_a_file_that_is_no_photo_is_refused_by_the_field_with_the_text_kept(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    response = enter(client, files={"photo": ("notes.pdf", b"%PDF-1.4 not a photo", "application/pdf")})
    assert response.status_code == 422
    page = parse(response.text)
    assert page.by_id("photo-error").text().strip() and "重新选择" in response.text
    assert page.by_id("headline").get("value") == "河堤上的新步道"
    assert page.by_id("consent_note").text() == "11月20日在社区采访时当面确认，同意网站发表和见报"
    assert count(client, "essays") == 0 and media_files(client) == []
    # another field's mistake: nothing stored, and the photo must be chosen again
    response = enter(client, headline="短", files={"photo": ("a.jpg", jpeg_with_gps((800, 600)), "image/jpeg")})
    assert response.status_code == 422 and "重新选择" in parse(response.text).by_id("photo-again").text()
    assert media_files(client) == []


def test_bad_input_is_refused_in_chinese_with_the_text_kept_and_nothing_stored(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    before = count(client, "essays")
    response = enter(client, source="", consent_note="好", body="太短了的正文", phone="123")
    assert response.status_code == 422
    page = parse(response.text)
    assert "请选择稿件来源：采访、来信、电话或座谈会。" in page.by_id("source-error").text()
    assert "请写明作者是怎样同意发表的" in page.by_id("consent_note-error").text()
    assert "正文至少需要 200 个字" in page.by_id("body-error").text()
    assert "11 位中国大陆手机号" in page.by_id("phone-error").text()
    assert page.by_id("body").text() == "太短了的正文"
    assert page.by_id("consent_note").text() == "好"
    assert page.by_id("author_name").get("value") == "刘桂兰"
    assert "还有 4 处需要修改" in page.by_id("error-summary").text()
    assert count(client, "essays") == before
    assert count(client, "compiled_essays") == 0


def test_the_same_normalisation_as_the_public_form(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    response = enter(client, headline="  河堤上的\u3000新步道  ", phone="138 1234 5678")
    assert response.status_code == 303
    essay_id = int(ENTERED.match(response.headers["location"]).group(1))
    essay = db_read(client, essay_store.get_essay, essay_id)
    public = valid_form(headline="  河堤上的\u3000新步道  ")
    assert essay.headline == submission.validate(public, {"ecology": 1}).values["headline"]
    assert essay.phone == "13812345678"


def test_a_double_click_stores_one_essay_and_a_csrf_failure_keeps_the_text(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    data = compiled_form(client)
    first = client.post("/editor/essays", data=data)
    second = client.post("/editor/essays", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(client, "compiled_essays") == 1
    refused = client.post("/editor/essays", data={**compiled_form(client, headline="另一篇新的稿子"), "csrf_token": "x"})
    assert refused.status_code == 403
    assert parse(refused.text).by_id("headline").get("value") == "另一篇新的稿子"
    assert count(client, "compiled_essays") == 1


def test_the_moderator_sees_the_mark_and_the_trail_names_the_reporter(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    essay_id = int(ENTERED.match(enter(client).headers["location"]).group(1))
    staff = Staff(client)
    staff.add("mod")
    queue = parse(staff.act_as("mod").get("/moderate").text)
    assert any(f"记者整理 · {REPORTER}" in b.text() for b in queue.find_all("span", class_="badge"))
    item = client.get(f"/moderate/{essay_id}")
    mark = parse(item.text).by_id("compiled-mark").text()
    assert "记者整理" in mark and REPORTER in mark and "采访" in mark and "当面确认" in mark
    trail = " ".join(parse(item.text).by_id("trail").text().split())
    assert "sunxy 记者代作者录入 采访" in trail  # the staff account that entered it
    assert "当面确认" not in trail  # the consent note is in the mark, which erasure can blank
    events = db_read(client, essay_store.list_events, essay_id)
    compiled_event = next(e for e in events if e.action == "compiled")
    assert compiled_event.actor_kind == "editor" and compiled_event.reason == "采访"


def test_once_published_the_author_is_the_author_and_the_reporter_is_nowhere_public(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    essay_id = int(ENTERED.match(enter(client).headers["location"]).group(1))
    staff = Staff(client)
    staff.add("mod")
    staff.act_as("mod")
    assert decide(client, essay_id, "approve").status_code == 303
    client.cookies.clear()
    public = client.get(f"/essays/{essay_id}")
    assert public.status_code == 200
    assert "城南街道幸福社区居民 刘桂兰" in public.text
    for url in (f"/essays/{essay_id}", "/", "/boards/ecology", "/search?q=刘桂兰", "/feed.atom"):
        text = client.get(url).text
        assert REPORTER not in text and "sunxy" not in text and "记者整理" not in text, url
    assert "河堤上的新步道" in client.get("/search?q=刘桂兰").text
    assert "河堤上的新步道" not in client.get(f"/search?q={REPORTER}").text


def _page(client, credits: str = "") -> int:
    token = csrf_from(client.get("/editor").text)
    data = {"paper": "锦州日报", "date": "2026-11-24", "page_label": "T08", "column_title": "写给下一个五年",
            "slots": "4", "slot_budget": "500", "lead": "", "credits": credits,
            "byline_style": "under_headline", "csrf_token": token}
    response = client.post("/editor/pages", data=data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def _place(client, page_id: int, essay_id: int) -> None:
    token = csrf_from(client.get("/editor").text)
    response = client.post(f"/editor/pages/{page_id}/slots", data={"essay_id": str(essay_id), "csrf_token": token})
    assert response.status_code == 303, response.text


def _publish_compiled(client, staff: Staff, reporter: str, headline: str) -> int:
    staff.act_as(reporter)
    essay_id = int(ENTERED.match(enter(client, headline=headline).headers["location"]).group(1))
    staff.act_as("mod")
    assert decide(client, essay_id, "approve").status_code == 303
    return essay_id


def _reporter_and_moderator(client) -> Staff:
    """The reporter "sunxy" (an editor) and the moderator "mod", each with a signed-in cookie jar."""
    add_reporter(client)
    staff = Staff(client)
    client.cookies.clear()
    login(client, "sunxy")
    staff.jars["sunxy"] = dict(client.cookies)
    staff.add("mod")
    return staff


def _credits(client, page_id: int) -> str:
    return db_read(client, print_store.get_page, page_id).credits


def test_the_page_credits_are_prefilled_from_the_reporters_and_stay_editable(client) -> None:
    add_reporter(client)
    add_reporter(client, "zhanglei", "张磊")
    staff = Staff(client)
    for name in ("sunxy", "zhanglei"):
        client.cookies.clear()
        login(client, name)
        staff.jars[name] = dict(client.cookies)
    staff.add("mod")
    first = _publish_compiled(client, staff, "sunxy", "河堤上的新步道")
    second = _publish_compiled(client, staff, "zhanglei", "港口的灯光")
    resident = make_essay(client, "published", headline="一位读者的来稿").id
    staff.act_as("sunxy")
    page_id = _page(client, credits="本版制图 王某")
    _place(client, page_id, resident)
    assert _credits(client, page_id) == "本版制图 王某"  # no compiled essay yet: nothing added
    _place(client, page_id, first)
    assert _credits(client, page_id) == f"本栏目内容由本报记者{REPORTER}整理\n本版制图 王某"
    _place(client, page_id, second)
    assert _credits(client, page_id) == f"本栏目内容由本报记者{REPORTER}、张磊整理\n本版制图 王某"
    screen = client.get(f"/editor/pages/{page_id}")
    assert f"本栏目内容由本报记者{REPORTER}、张磊整理" in screen.text
    # the desk edits the line: later placements leave it alone
    token = csrf_from(screen.text)
    edited = "本栏目内容由本报记者孙晓燕、张磊采访整理"
    response = client.post(f"/editor/pages/{page_id}/settings", data={"credits": f"{edited}\n本版制图 王某", "csrf_token": token})
    assert response.status_code == 303
    token = csrf_from(client.get("/editor").text)
    assert client.post(f"/editor/pages/{page_id}/slots/{second}/remove", data={"csrf_token": token}).status_code == 303
    assert _credits(client, page_id) == f"{edited}\n本版制图 王某"


def test_the_placeholder_credit_becomes_the_reporters_names(client) -> None:
    staff = _reporter_and_moderator(client)
    essay_id = _publish_compiled(client, staff, "sunxy", "河堤上的新步道")
    staff.act_as("sunxy")
    page_id = _page(client, credits="本栏目内容由本报记者整理")
    _place(client, page_id, essay_id)
    assert _credits(client, page_id) == f"本栏目内容由本报记者{REPORTER}整理"
    token = csrf_from(client.get("/editor").text)
    assert client.post(f"/editor/pages/{page_id}/slots/{essay_id}/remove", data={"csrf_token": token}).status_code == 303
    assert _credits(client, page_id) == ""


def test_a_compiled_essay_goes_to_print_with_the_authors_byline_and_the_author_signs_off(client) -> None:
    """The whole path: entered by a reporter, approved, cut for print, the author asked by SMS and
    answering through the link, locked, exported and printed, the author told at each step."""
    quiet(client)
    staff = _reporter_and_moderator(client)
    essay_id = _publish_compiled(client, staff, "sunxy", "河堤上的新步道")
    staff.act_as("sunxy")
    page_id = _page(client)
    _place(client, page_id, essay_id)
    byline = "城南街道幸福社区居民 刘桂兰"
    cut = "\n\n".join(BODY.split("\n\n")[:2])
    token = csrf_from(client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text)
    assert client.post(f"/editor/pages/{page_id}/slots/{essay_id}/version",
                       data={"headline": "河堤步道修到海边", "byline": byline, "body": cut, "csrf_token": token}
                       ).status_code == 303
    assert client.post(f"/editor/pages/{page_id}/slots/{essay_id}/signoff",
                       data={"csrf_token": token}).status_code == 303
    deliver(client)
    request = next(line for line in outbox(client) if line["template"] == "signoff_requested")
    assert request["to"] == PHONE
    # the author answers through the link in the SMS
    client.cookies.clear()
    link = request["params"]["link"].removeprefix("http://127.0.0.1:8000")
    view = client.get(link)
    assert view.status_code == 200 and "<del>" in view.text
    assert client.post(link, data={"answer": "accepted", "csrf_token": csrf_from(view.text)}).status_code == 303
    staff.act_as("sunxy")
    assert "作者已同意见报稿" in client.get(f"/editor/pages/{page_id}").text
    token = csrf_from(client.get(f"/editor/pages/{page_id}").text)
    assert client.post(f"/editor/pages/{page_id}/slots/{essay_id}/verify",
                       data={"note": "已电话联系作者，确认本人投稿", "csrf_token": token}).status_code == 303
    assert client.post(f"/editor/pages/{page_id}/lock", data={"csrf_token": token}).status_code == 303
    package = client.get(f"/editor/pages/{page_id}/package.zip")
    assert package.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    texts = "".join(archive.read(n).decode("utf-8-sig", "replace") for n in archive.namelist() if n.endswith(".txt"))
    assert "河堤步道修到海边" in texts and byline in texts
    assert f"本栏目内容由本报记者{REPORTER}整理" in texts  # the page's credit; the essay's byline is the author's
    assert client.post(f"/editor/pages/{page_id}/printed", data={"csrf_token": token}).status_code == 303
    client.cookies.clear()
    public = client.get(f"/essays/{essay_id}").text
    assert "刊于《锦州日报》2026年11月24日 T08版" in public and REPORTER not in public
    deliver(client)
    printed = [line for line in outbox(client) if line["template"] == "printed" and line["to"] == PHONE]
    assert len(printed) == 1 and "2026年11月24日 T08版" in printed[0]["text"]


def test_the_authors_export_says_how_the_essay_was_gathered_without_naming_the_reporter(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    token = ENTERED.match(enter(client).headers["location"]).group(2)
    client.cookies.clear()
    export = client.get(f"/track/{token}/export.json")
    assert export.status_code == 200
    doc = export.json()
    assert doc["compiled"]["source"] == "interview"
    assert doc["compiled"]["consent_note"] == "11月20日在社区采访时当面确认，同意网站发表和见报"
    assert set(doc["compiled"]) == {"source", "consent_note", "entered_at"}
    assert REPORTER not in export.text and "sunxy" not in export.text


def test_erasing_the_authors_data_also_clears_the_reporters_consent_note(client) -> None:
    add_reporter(client)
    login(client, "sunxy")
    note = "11月20日电话 13912345678 确认，刘桂兰本人同意网站发表和见报"
    entered = ENTERED.match(enter(client, consent_note=note).headers["location"])
    essay_id, token = int(entered.group(1)), entered.group(2)
    assert db_read(client, compiled_store.mark_of, essay_id).consent_note == note
    client.cookies.clear()
    page = client.get(f"/track/{token}/delete")
    answered = client.post(f"/track/{token}/delete",
                           data={"keep_text": "anonymous", "confirm": "yes", "csrf_token": csrf_from(page.text)})
    assert answered.status_code == 303
    mark = db_read(client, compiled_store.mark_of, essay_id)
    assert mark.consent_note == "" and mark.reporter == REPORTER  # who entered it and how stay: the newsroom's
    assert mark.source == "interview"
    assert "13912345678" not in pgtest.dump_text(client.app.state.settings)


def test_the_entry_form_is_for_editors_only(client) -> None:
    staff = Staff(client)
    staff.add("mod", "moderator")
    assert staff.act_as("mod").get("/editor/essays/new").status_code == 403
    assert client.post("/editor/essays", data={"csrf_token": csrf_from(client.get("/moderate").text)}).status_code == 403
    client.cookies.clear()
    assert client.get("/editor/essays/new").status_code == 303
