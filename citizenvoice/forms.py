"""Reading form posts safely: size limits, parse errors as 4xx, and the CSRF check every POST needs."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from citizenvoice.security import CSRF_FAILED_MESSAGE, CSRF_FIELD, csrf_valid

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FIELD_BYTES = 256 * 1024


class CSRFError(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, CSRF_FAILED_MESSAGE)


async def parse_form(request: Request, *, max_files: int = 0, max_file_bytes: int | None = None) -> FormData:
    """The posted form, without the CSRF check (for handlers that re-render the form on CSRF failure)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_CONTENT_TYPES:
        raise HTTPException(415, "请通过网页表单提交。")
    try:
        form = await request.form(max_files=max_files, max_fields=64, max_part_size=MAX_FIELD_BYTES)
    except MultiPartException as exc:
        raise HTTPException(400, "表单内容无法识别或超出大小限制。") from exc
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
