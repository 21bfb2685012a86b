"""The eight message kinds, as the pre-approved SMS templates and the mail they become.

Chinese SMS are approved templates with parameters, so a message is a template name plus params; the
text here is what the resident reads (the outbox line carries it too). Links are made absolute at
delivery from the base URL, and tracking links signed then, so the outbox never holds a tracking token.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from typing import Any

from citizenvoice.domain import submission

# kind -> (SMS text with {param} placeholders, mail subject)
TEMPLATES: dict[str, tuple[str, str]] = {
    "verification_code": ("您的验证码是{code}，10分钟内有效。如非本人操作，请忽略本短信。", "投稿验证码"),
    "received": ("您的文章《{headline}》已收到，投稿编号{tracking_code}。查看审核进度：{link}", "我们收到了您的投稿"),
    "needs_revision": ("您的投稿{tracking_code}需要修改：{note}。请打开{link}修改后重新提交。", "您的投稿需要修改"),
    "rejected": ("很抱歉，您的投稿{tracking_code}未被采用，原因：{reason}。详情：{link}", "您的投稿未被采用"),
    "published": ("您的投稿{tracking_code}已在网上发表：{link}", "您的投稿已发表"),
    "printed": ("您的投稿{tracking_code}已见报：{edition}。感谢您的来稿！", "您的投稿已见报"),
    "signoff_requested": ("编辑部请您确认投稿{tracking_code}的见报稿改动：{link}", "请确认见报稿"),
    "lost_link": ("您在本栏目的投稿查询链接：{links}", "您的投稿查询链接"),
}

# SMS template variables are short (Aliyun allows 35 characters a variable): a long note is cut here and
# read in full on the tracking page the message links to.
SMS_PARAM_CHARS = 30
STOP_HINT = "不想再收到这类通知？打开投稿查询页，点「不再通知我」即可。"


@dataclass(frozen=True)
class Rendered:
    params: dict[str, str]  # the template's parameters as sent (links absolute)
    text: str  # the SMS text, or the mail's plain text
    subject: str = ""
    html: str = ""


def param_order(text: str) -> list[str]:
    """The template's parameters in the order they appear (Tencent's TemplateParamSet is positional)."""
    names: list[str] = []
    for _, name, _, _ in string.Formatter().parse(text):
        if name and name not in names:
            names.append(name)
    return names


def short(value: str, limit: int = SMS_PARAM_CHARS) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def track_link(base_url: str, secret: str, essay_id: int) -> str:
    return f"{base_url.rstrip('/')}/track/code/{submission.message_link_token(secret, essay_id)}"


def resolve(params: dict[str, Any], *, base_url: str, secret: str) -> dict[str, str]:
    """Stored params -> the template's params: ``track`` (an essay id) becomes a signed absolute tracking
    link, ``path`` an absolute link, ``items`` (lost links) a list of codes with their links."""
    out = {k: str(v) for k, v in params.items() if k not in {"track", "suffix", "path", "items"}}
    if "track" in params:
        out["link"] = track_link(base_url, secret, int(params["track"])) + str(params.get("suffix", ""))
    if "path" in params:
        out["link"] = base_url.rstrip("/") + str(params["path"])
    if "items" in params:
        out["links"] = "；".join(f"{item['tracking_code']} {track_link(base_url, secret, int(item['essay_id']))}"
                                for item in params["items"])
    return out


def render(template: str, params: dict[str, Any], *, base_url: str, secret: str, email: bool = False) -> Rendered:
    text_template, subject = TEMPLATES[template]
    values = resolve(params, base_url=base_url, secret=secret)
    text = text_template.format(**values)
    if not email:
        return Rendered(values, text)
    stop = "" if template == "verification_code" else STOP_HINT
    plain = f"您好：\n\n{text}\n\n{stop}\n".rstrip() + "\n"
    link = values.get("link", "")
    body = html.escape(text)
    if link:
        escaped = html.escape(link)
        body = body.replace(escaped, f'<a href="{escaped}">{escaped}</a>')
    page = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><body style="font-size:16px;line-height:1.7">'
            f"<p>您好：</p><p>{body}</p>" + (f'<p style="color:#555">{html.escape(stop)}</p>' if stop else "")
            + "</body></html>")
    return Rendered(values, plain, subject=subject, html=page)
