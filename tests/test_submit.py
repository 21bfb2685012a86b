"""The submission form: every field rule, normalisation, errors next to fields with the text kept,
CSRF, the honeypot, idempotent and concurrent double submits, and the photo pipeline."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pgtest
import pytest
from itsdangerous import URLSafeTimedSerializer
from PIL import ExifTags, Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from citizenvoice.domain import submission
from citizenvoice.model.essays import AUTHOR_ROLES
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.web.security import CSRF_FAILED_MESSAGE
from tests.submit_helpers import (
    BODY,
    EMAIL,
    PHONE,
    concurrently,
    count,
    field_value,
    form_tokens,
    parse,
    post_essay,
    read,
    signed_long_ago,
    submit_essay,
    valid_form,
    write,
)

DIRECTIONS = {"ecology": 12, "wellbeing": 11}
CONTRACT_FIELDS = (
    "headline", "body", "direction", "author_role", "author_name", "affiliation", "byline_mode", "phone",
    "email", "photo", "consent_publish", "consent_print", "consent_privacy", "csrf_token",
)


def essay_by_token(client: TestClient, token: str) -> essay_store.Essay:
    essay = read(client, lambda conn: essay_store.get_by_token(conn, token))
    assert essay is not None
    return essay


# ---------------------------------------------------------------------------------------------------
# Field rules, table-driven, on the pure domain function

ZW = "\u200b"  # zero-width space
RLO = "\u202e"  # right-to-left override

RULE_CASES = [
    # (field, value, error expected, fragment of the message)
    ("headline", "四个字啊", False, ""),
    ("headline", "港" * 30, False, ""),
    ("headline", "三个字", True, "至少需要 4 个字"),
    ("headline", "港" * 31, True, "最多 30 个字"),
    ("headline", "", True, "请填写标题"),
    ("headline", " \u3000\t\n ", True, "请填写标题"),
    ("headline", f"港{ZW}{ZW}{ZW}口{RLO}清", True, "现在是 3 个字"),
    ("headline", "港 口 清", True, "现在是 3 个字"),
    ("body", "字" * 200, False, ""),
    ("body", "字" * 3000, False, ""),
    ("body", "字" * 199, True, "至少需要 200 个字，现在是 199 个字"),
    ("body", "字" * 3001, True, "最多 3000 个字"),
    ("body", "字 " * 199 + "\n\n\n" + " " * 40, True, "现在是 199 个字"),
    ("body", "字" * 199 + ZW * 30 + "\x07\x00", True, "现在是 199 个字"),
    ("body", "\n \n\t\n", True, "请填写正文"),
    ("direction", "ecology", False, ""),
    ("direction", "", True, "请选择文章所属的征文方向"),
    ("direction", "no-such-board", True, "正在征稿的方向"),
    *[("author_role", role, False, "") for role in AUTHOR_ROLES],
    ("author_role", "", True, "请选择您的身份"),
    ("author_role", "mayor", True, "请从列表中选择"),
    ("author_name", "王五", False, ""),
    ("author_name", "名" * 20, False, ""),
    ("author_name", "王", True, "至少需要 2 个字"),
    ("author_name", "名" * 21, True, "最多 20 个字"),
    ("author_name", "   ", True, "请填写姓名"),
    ("affiliation", "", False, ""),
    ("affiliation", "职" * 60, False, ""),
    ("affiliation", "职" * 61, True, "最多 60 个字"),
    ("byline_mode", "full", False, ""),
    ("byline_mode", "role_only", False, ""),
    ("byline_mode", "", True, "请选择署名方式"),
    ("byline_mode", "anonymous", True, "请从列表中选择"),
    ("phone", "13812345678", False, ""),
    ("phone", "138 1234 5678", False, ""),
    ("phone", "138-1234-5678", False, ""),
    ("phone", "+86 138 1234 5678", False, ""),
    ("phone", "１３８１２３４５６７８", False, ""),
    ("phone", "19912345678", False, ""),
    ("phone", "", True, "请填写手机号"),
    ("phone", "12812345678", True, "11 位中国大陆手机号"),
    ("phone", "1381234567", True, "11 位中国大陆手机号"),
    ("phone", "138123456789", True, "11 位中国大陆手机号"),
    ("phone", "0411-1234567", True, "11 位中国大陆手机号"),
    ("email", "", False, ""),
    ("email", "li.ming@example.cn", False, ""),
    ("email", "li@mail.example.com.cn", False, ""),
    ("email", "no-at-sign", True, "电子邮箱格式不正确"),
    ("email", "li@localhost", True, "电子邮箱格式不正确"),
    ("email", "li ming@example.cn", True, "电子邮箱格式不正确"),
    ("email", "li@example..cn", True, "电子邮箱格式不正确"),
    ("email", "li@例子.中国", False, ""),
    ("email", "<b>li</b>'--@example.cn", False, ""),  # an odd local part is the provider's business
    ("email", "li@@example.cn", True, "电子邮箱格式不正确"),
    ("email", "li@x@example.cn", True, "电子邮箱格式不正确"),
    ("email", "li@<script>.cn", True, "电子邮箱格式不正确"),
    ("email", "li@exa_mple.cn", True, "电子邮箱格式不正确"),
    ("email", "li@-example.cn", True, "电子邮箱格式不正确"),
    ("email", "li@example.cn.", True, "电子邮箱格式不正确"),
    ("email", "li@10.0.0.1", True, "电子邮箱格式不正确"),
    ("email", "@example.cn", True, "电子邮箱格式不正确"),
    ("email", "l" * 65 + "@example.cn", True, "电子邮箱格式不正确"),
    ("email", "li@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".cn", True, "电子邮箱格式不正确"),
    ("email", "li@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 56 + ".cn", False, ""),
    ("consent_publish", "yes", False, ""),
    ("consent_publish", "", True, "同意在网站上发表"),
    ("consent_privacy", "yes", False, ""),
    ("consent_privacy", "", True, "隐私说明"),
    ("consent_print", "", False, ""),
]


@pytest.mark.parametrize(("name", "value", "invalid", "message"), RULE_CASES)
def test_field_rule(name: str, value: str, invalid: bool, message: str) -> None:
    checked = submission.validate(valid_form(**{name: value}), DIRECTIONS)
    assert list(checked.errors) == ([name] if invalid else [])
    if invalid:
        assert message in checked.errors[name]
    else:
        assert checked.essay is not None


def test_every_contract_field_has_a_rule() -> None:
    ruled = set(submission.FIELD_NAMES) | {"photo", "csrf_token"}
    assert ruled == set(CONTRACT_FIELDS)


def test_valid_submission_becomes_a_new_essay() -> None:
    checked = submission.validate(valid_form(phone="138 1234-5678", consent_print=""), DIRECTIONS)
    assert checked.essay is not None
    assert checked.essay.direction_id == 12
    assert checked.essay.phone == "13812345678"
    assert checked.essay.consent_print is False


@pytest.mark.parametrize(
    ("field", "raw", "stored"),
    [
        ("headline", f"  港口的{ZW}清晨\n ", "港口的清晨"),
        ("headline", f"{RLO}港口\t\t的   清晨", "港口 的 清晨"),
        ("author_name", "Jose\u0301 王", "José 王"),
        ("body", BODY.replace("\n\n", "\r\n\r\n\r\n\r\n") + "   \n\n\n", BODY),
        ("body", "  " + BODY.replace("。", f"。{ZW}\u2066") + "\x00", BODY),
    ],
)
def test_normalisation_is_applied_before_storing(client: TestClient, field: str, raw: str, stored: str) -> None:
    token = submit_essay(client, **{field: raw})
    essay = essay_by_token(client, token)
    assert getattr(essay, field) == stored


# ---------------------------------------------------------------------------------------------------
# The form page


def test_form_offers_every_contract_field_with_labels(client: TestClient) -> None:
    response = client.get("/submit")
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    page = parse(response.text)
    form = page.find("form", id="submit-form")
    assert form is not None and form.get("enctype") == "multipart/form-data" and form.get("method") == "post"
    for name in CONTRACT_FIELDS:
        control = form.find(name=name)
        assert control is not None, name
        if control.get("type") not in ("hidden", "radio"):
            assert form.find("label", **{"for": control.get("id")}) or control.get("type") == "checkbox", name
    assert field_value(page, "byline_mode") == "full"


def test_form_lists_open_directions_grouped_by_pillar(client: TestClient) -> None:
    async def archive(conn) -> None:
        board = await direction_store.get_by_slug(conn, "finance-center")
        await admin_store.set_direction_archived(conn, board.id, True)

    write(client, archive)
    page = parse(client.get("/submit?direction=ecology").text)
    select = page.find("select", name="direction")
    groups = [g.get("label") for g in select.find_all("optgroup")]
    assert groups == ["产业为基", "创新为魂", "开放为翼", "民生为本"]
    values = [o.get("value") for o in select.find_all("option")]
    assert "finance-center" not in values and "ecology" in values
    assert field_value(page, "direction") == "ecology"
    # an archived board is refused even if posted by hand
    response = post_essay(client, direction="finance-center")
    assert response.status_code == 422
    assert count(client, "essays") == 0


def test_showing_the_form_writes_nothing(client: TestClient) -> None:
    client.get("/submit")
    client.get("/submit")
    assert count(client, "form_tokens") == 0
    assert count(client, "essays") == 0


def test_honeypot_is_hidden_from_people_and_keyboards(client: TestClient) -> None:
    page = parse(client.get("/submit").text)
    trap = page.find("input", name="website")
    assert trap.get("tabindex") == "-1" and trap.get("autocomplete") == "off"
    wrapper = page.find("div", class_="honeypot")
    assert wrapper.get("aria-hidden") == "true" and wrapper.find("input", name="website") is not None


# ---------------------------------------------------------------------------------------------------
# Storing


def test_valid_submission_is_stored_pending_and_redirects_to_receipt(client: TestClient) -> None:
    response = post_essay(client, phone="138 1234 5678", email=EMAIL)
    assert response.status_code == 303
    token = response.headers["location"].removeprefix("/track/")
    assert len(token) >= 22  # ≥ 128 bits of base64url
    essay = essay_by_token(client, token)
    assert essay.status == "pending"
    assert essay.phone == PHONE and essay.email == EMAIL
    assert essay.tracking_code.startswith("CV-") and len(essay.tracking_code) == 12

    async def history(conn):
        return await essay_store.list_revisions(conn, essay.id), await essay_store.list_events(conn, essay.id)

    revisions, events = read(client, history)
    assert [(r.number, r.body) for r in revisions] == [(1, BODY)]
    assert [(e.action, e.to_status, e.actor_kind) for e in events] == [("submit", "pending", "author")]


def test_tracking_token_is_never_stored_in_clear(client: TestClient, settings: Settings) -> None:
    token = submit_essay(client)
    if settings.database_url:  # every value PostgreSQL holds (tests/pgtest.py), not the file's bytes
        raw = pgtest.dump_text(settings).encode()
    else:
        raw = b"".join(p.read_bytes() for p in settings.db_path.parent.glob("citizenvoice.db*"))
    assert token.encode() not in raw
    assert hashlib.sha256(token.encode()).hexdigest().encode() in raw


def test_errors_sit_next_to_fields_and_everything_is_kept(client: TestClient) -> None:
    data = valid_form(headline="短", phone="12345", author_name="刘晓燕", affiliation="港务集团调度中心主任",
                      byline_mode="role_only", consent_print="")
    response = post_essay(client, data)
    assert response.status_code == 422
    page = parse(response.text)
    for name in ("headline", "phone"):
        error = page.by_id(f"{name}-error")
        control = page.by_id(name)
        assert f"{name}-error" in control.get("aria-describedby").split()
        assert control.get("aria-invalid") == "true"
        assert error.text().strip()
    links = [a.get("href") for a in page.by_id("error-summary").find_all("a")]
    assert links == ["#headline", "#phone"]
    assert "手机号" in page.by_id("phone-error").text()
    for name in ("body", "author_name", "affiliation", "byline_mode", "direction", "email", "consent_publish"):
        assert field_value(page, name) == data[name], name
    assert field_value(page, "consent_print") == ""
    assert field_value(page, "headline") == "短"
    assert count(client, "essays") == 0


def test_csrf_failure_keeps_the_essay_and_lets_the_author_resend(client: TestClient) -> None:
    tokens = form_tokens(client)
    response = post_essay(client, tokens={**tokens, "csrf_token": "forged"})
    assert response.status_code == 403
    page = parse(response.text)
    assert CSRF_FAILED_MESSAGE in page.by_id("form-alert").text()
    assert field_value(page, "body") == BODY
    assert count(client, "essays") == 0
    # the re-rendered form carries a good token: sending it again works
    again = {n: field_value(page, n) for n in ("csrf_token", "form_token")}
    assert post_essay(client, tokens=again).status_code == 303


def test_honeypot_filled_stores_nothing(client: TestClient) -> None:
    response = post_essay(client, website="http://cheap-pills.example")
    assert response.status_code == 400
    assert count(client, "essays") == 0 and count(client, "form_tokens") == 0


@pytest.mark.parametrize("kind", ["expired", "forged", "missing"])
def test_stale_or_forged_form_token_keeps_text_and_issues_a_new_one(client: TestClient, kind: str) -> None:
    tokens = form_tokens(client)
    secret = client.app.state.secret_key

    bad = {
        "expired": signed_long_ago(secret, submission.FORM_SALT, "a" * 32, submission.FORM_TOKEN_MAX_AGE + 60),
        "forged": URLSafeTimedSerializer("another-secret", salt=submission.FORM_SALT).dumps("a" * 32),
        "missing": "",
    }[kind]
    response = post_essay(client, tokens={**tokens, "form_token": bad})
    assert response.status_code == 400
    page = parse(response.text)
    assert "表单已过期" in page.by_id("form-alert").text()
    assert field_value(page, "body") == BODY
    fresh = field_value(page, "form_token")
    assert fresh and fresh != bad
    assert count(client, "essays") == 0
    assert post_essay(client, tokens={**tokens, "form_token": fresh}).status_code == 303


# ---------------------------------------------------------------------------------------------------
# Double submission


def test_same_form_token_twice_makes_one_essay_and_the_same_receipt(client: TestClient) -> None:
    tokens = form_tokens(client)
    first = post_essay(client, tokens=tokens)
    second = post_essay(client, tokens=tokens)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(client, "essays") == 1 and count(client, "form_tokens") == 1


def test_concurrent_identical_posts_make_exactly_one_essay(client: TestClient) -> None:
    payload = {**form_tokens(client), **valid_form()}
    responses = concurrently(client, [("/submit", payload)] * 2)
    assert [r.status_code for r in responses] == [303, 303]
    assert responses[0].headers["location"] == responses[1].headers["location"]
    assert count(client, "essays") == 1


def test_old_form_reused_for_a_different_essay_is_not_swallowed(client: TestClient) -> None:
    tokens = form_tokens(client)
    submit_first = post_essay(client, tokens=tokens)
    assert submit_first.status_code == 303
    other_body = BODY.replace("河道志愿者", "社区志愿者")
    response = post_essay(client, tokens=tokens, headline="另一篇新的文章", body=other_body)
    assert response.status_code == 409
    page = parse(response.text)
    assert "已经提交过" in page.by_id("form-alert").text()
    assert field_value(page, "body") == other_body
    fresh = {"csrf_token": tokens["csrf_token"], "form_token": field_value(page, "form_token")}
    again = post_essay(client, tokens=fresh, headline="另一篇新的文章", body=other_body)
    assert again.status_code == 303 and again.headers["location"] != submit_first.headers["location"]
    assert count(client, "essays") == 2


# ---------------------------------------------------------------------------------------------------
# Photos


def jpeg_with_gps(size: tuple[int, int] = (2400, 1800)) -> bytes:
    image = Image.new("RGB", size, (180, 120, 60))
    for x in range(0, size[0], 40):  # some detail, so the encoder has work to do
        image.paste((20, 60, 160), (x, 0, x + 10, size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (41.0, 7.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 8.0, 15.0),
    })
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def media_files(client: TestClient) -> list[Path]:
    media: Path = client.app.state.settings.media_path
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_photo_is_reencoded_resized_and_stripped_of_gps(client: TestClient) -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's own premise
    response = post_essay(client, files={"photo": ("IMG_0001.jpg", original, "image/jpeg")})
    assert response.status_code == 303, response.text
    essay = essay_by_token(client, response.headers["location"].removeprefix("/track/"))
    assert essay.photo_path
    stored = client.app.state.settings.media_path / essay.photo_path
    data = stored.read_bytes()
    assert data != original
    with Image.open(io.BytesIO(data)) as photo:
        assert max(photo.size) <= 1600
        assert photo.size[0] > photo.size[1]  # proportions kept
        exif = photo.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert ExifTags.Base.Make not in exif
    assert b"TestCam" not in data


@pytest.mark.parametrize(
    ("filename", "content", "mime"),
    [
        ("essay.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "application/pdf"),
        ("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
        ("photo.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                      b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif"),
    ],
)
def test_non_images_are_refused_next_to_the_photo_field(client: TestClient, filename: str, content: bytes,
                                                         mime: str) -> None:
    response = post_essay(client, files={"photo": (filename, content, mime)})
    assert response.status_code == 422
    page = parse(response.text)
    assert page.by_id("photo-error").text().strip()
    assert "photo-error" in page.by_id("photo").get("aria-describedby")
    assert "重新选择" in response.text
    assert field_value(page, "body") == BODY
    assert count(client, "essays") == 0
    assert media_files(client) == []


def test_other_errors_mean_the_photo_must_be_chosen_again(client: TestClient) -> None:
    response = post_essay(client, headline="短", files={"photo": ("a.jpg", jpeg_with_gps((800, 600)), "image/jpeg")})
    assert response.status_code == 422
    page = parse(response.text)
    assert "重新选择" in page.by_id("photo-again").text()
    assert media_files(client) == []


def test_too_large_photo_is_a_field_error_not_a_lost_essay(tmp_path: Path, make_app: Callable[..., Starlette]) -> None:
    with TestClient(make_app(tmp_path, photo_max_bytes=20_000), follow_redirects=False) as client:
        big = jpeg_with_gps((1600, 1200))
        assert len(big) > 20_000
        response = post_essay(client, files={"photo": ("big.jpg", big, "image/jpeg")})
        assert response.status_code == 422
        page = parse(response.text)
        assert page.by_id("photo-error").text().strip()
        assert field_value(page, "body") == BODY
        assert count(client, "essays") == 0
