"""Reading form posts safely: size limits, parse errors as 4xx, and the CSRF check every POST needs.

Forms are parsed here rather than by ``Request.form()`` for three reasons. Starlette turns a parse
error into an English HTTPException(400) before a caller can catch it; it decodes urlencoded bytes as
latin-1 and invalid %-escapes as U+FFFD; and it decodes a multipart text part that is not UTF-8 as
latin-1. Both decodings accept bytes that are not text and store them as mojibake; here they are a 400
and nothing is changed. (The total body size is limited earlier, by citizenvoice.web.bodylimit.)
"""

from __future__ import annotations

from contextlib import aclosing
from urllib.parse import unquote_to_bytes

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from citizenvoice.web.security import CSRF_FAILED_MESSAGE, CSRF_FIELD, csrf_valid

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FIELD_BYTES = 256 * 1024
MAX_FIELDS = 64

NOT_UTF8_MESSAGE = "提交的内容不是有效的 UTF-8 文字，无法保存。请回到网页上的表单重新填写后提交。"
FIELD_TOO_LARGE_MESSAGE = (
    f"表单中有一项内容超出大小限制（每项最多 {MAX_FIELD_BYTES // 1024} KB），请删减后再提交。"
)
UNREADABLE_MESSAGE = "表单内容无法识别，请通过网页上的表单重新提交。"


class CSRFError(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, CSRF_FAILED_MESSAGE)


class NotUtf8(ValueError):
    pass


class _Utf8MultiPartParser(MultiPartParser):
    """Starlette's parser, except that a text part that is not valid UTF-8 is an error."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                bytes(part.data).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NotUtf8 from exc
        super().on_part_end()


def _utf8(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8 from exc


def parse_urlencoded(body: bytes) -> FormData:
    """``name=value&…`` as browsers send it: %-escapes are UTF-8 (raw UTF-8 bytes are accepted too)."""
    pairs = [pair for pair in body.split(b"&") if pair]
    if len(pairs) > MAX_FIELDS:
        raise HTTPException(400, UNREADABLE_MESSAGE)
    if any(len(pair) > MAX_FIELD_BYTES for pair in pairs):
        raise HTTPException(413, FIELD_TOO_LARGE_MESSAGE)
    return FormData([(_utf8(name), _utf8(value)) for name, _, value in (p.partition(b"=") for p in pairs)])


def _multipart_refusal(exc: MultiPartException, max_files: int) -> HTTPException:
    """Starlette's parse errors, each as a Chinese 4xx. They differ only in their English message."""
    if exc.message.startswith("Part exceeded maximum size"):
        return HTTPException(413, FIELD_TOO_LARGE_MESSAGE)
    if exc.message.startswith("Too many files"):
        return HTTPException(
            400, f"一次最多上传 {max_files} 个文件。" if max_files else "这张表单不接受上传文件。"
        )
    return HTTPException(400, UNREADABLE_MESSAGE)


async def _parse_multipart(request: Request, max_files: int) -> FormData:
    try:
        async with aclosing(request.stream()) as stream:
            parser = _Utf8MultiPartParser(request.headers, stream, max_files=max_files, max_fields=MAX_FIELDS,
                                          max_part_size=MAX_FIELD_BYTES)  # fmt: skip
            return await parser.parse()
    except MultiPartException as exc:
        raise _multipart_refusal(exc, max_files) from exc


async def parse_form(request: Request, *, max_files: int = 0, max_file_bytes: int | None = None) -> FormData:
    """The posted form, without the CSRF check (for handlers that re-render the form on CSRF failure)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_CONTENT_TYPES:
        raise HTTPException(415, "请通过网页表单提交。")
    try:
        if content_type == "multipart/form-data":
            form = await _parse_multipart(request, max_files)
        else:
            form = parse_urlencoded(await request.body())
    except NotUtf8:
        raise HTTPException(400, NOT_UTF8_MESSAGE) from None
    if max_file_bytes is not None:
        for value in form.values():
            if isinstance(value, UploadFile) and (value.size or 0) > max_file_bytes:
                await form.close()
                raise HTTPException(413, "上传的文件过大。")
    return form


async def read_form(request: Request, **limits: int) -> FormData:
    """The posted form after the CSRF check; a failed check is a 403 and nothing else happens."""
    form = await parse_form(request, **limits)
    if not csrf_valid(request, form.get(CSRF_FIELD)):
        await form.close()
        raise CSRFError()
    return form


def text_field(form: FormData, name: str) -> str:
    """A text field's raw value; an upload where text was expected counts as empty."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def upload_bytes(form: FormData, name: str) -> bytes | None:
    """The bytes of a file field, or None when no file was chosen (browsers send an empty, unnamed part)."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read() or None
