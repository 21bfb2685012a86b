"""Where a message goes: the outbox file, Alibaba Cloud or Tencent Cloud SMS, or an SMTP server.

Each backend's ``send`` is blocking network or file work; the sender runs it in a thread. A failure
raises :class:`SendFailed` with the provider's own reason (shown at /admin/messages); ``permanent``
says a retry cannot help (a number the provider refuses, a template it does not know).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from citizenvoice.domain.messaging.templates import TEMPLATES, Rendered, param_order
from citizenvoice.settings import Settings, sms_template_codes
from citizenvoice.store.messages import Message

log = logging.getLogger("citizenvoice.messages")
TIMEOUT = 15


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Backend(Protocol):
    def send(self, message: Message, rendered: Rendered) -> str: ...


def mask(recipient: str) -> str:
    """What a log line may say about a recipient."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{recipient[:3]}****{recipient[-4:]}" if len(recipient) >= 7 else "****"


class OutboxFile:
    """Development and tests: one JSON line per message in ``<data dir>/outbox.jsonl``, and a log line."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, message: Message, rendered: Rendered) -> str:
        line = {"to": message.recipient, "template": message.template, "params": rendered.params,
                "text": rendered.text, "at": dt.datetime.now(dt.UTC).isoformat()}
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)  # written before the row says sent
            finally:
                os.close(fd)
        log.info("message %s written to the outbox for %s", message.template, mask(message.recipient))
        return f"outbox:{message.id}"


# ---------------------------------------------------------------------------------------------------
# Alibaba Cloud SMS: SendSms, RPC style, signature version 1.0 (HMAC-SHA1)


def aliyun_percent(value: str) -> str:
    """Alibaba's percent-encoding: RFC 3986 unreserved characters kept, space as %20, ~ kept."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_string_to_sign(params: dict[str, str], method: str = "GET") -> str:
    canonical = "&".join(f"{aliyun_percent(k)}={aliyun_percent(v)}" for k, v in sorted(params.items()))
    return f"{method}&{aliyun_percent('/')}&{aliyun_percent(canonical)}"


def aliyun_signature(secret: str, params: dict[str, str], method: str = "GET") -> str:
    digest = hmac.new(f"{secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.codes = sms_template_codes(settings.sms_templates)

    def request_params(self, message: Message, rendered: Rendered, *, nonce: str, timestamp: str) -> dict[str, str]:
        return {
            "AccessKeyId": self.s.aliyun_access_key_id, "Action": "SendSms", "Format": "JSON",
            "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce,
            "SignatureVersion": "1.0", "Timestamp": timestamp, "Version": "2017-05-25",
            "PhoneNumbers": message.recipient, "SignName": self.s.sms_sign_name,
            "TemplateCode": self.codes[message.template],
            "TemplateParam": json.dumps(rendered.params, ensure_ascii=False, separators=(",", ":")),
            "OutId": message.idempotency_key[:64],
        }

    def send(self, message: Message, rendered: Rendered) -> str:
        params = self.request_params(message, rendered, nonce=str(uuid.uuid4()),
                                     timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        params["Signature"] = aliyun_signature(self.s.aliyun_access_key_secret, params)
        url = self.s.aliyun_endpoint + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        body = _http(urllib.request.Request(url, method="GET"))
        if body.get("Code") != "OK":
            code = str(body.get("Code", "?"))
            # Throttling and service hiccups may pass; a refused number or template will not.
            permanent = code.startswith(("isv.MOBILE", "isv.TEMPLATE", "isv.SMS_TEMPLATE", "isv.SMS_SIGNATURE",
                                         "isv.INVALID", "InvalidAccessKeyId", "SignatureDoesNotMatch"))
            raise SendFailed(f"{code}: {body.get('Message', '')}", permanent=permanent)
        return str(body.get("BizId") or body.get("RequestId") or "")


# ---------------------------------------------------------------------------------------------------
# Tencent Cloud SMS: SendSms 2021-01-11, signature v3 (TC3-HMAC-SHA256)


def tc3_authorization(*, secret_id: str, secret_key: str, service: str, host: str, payload: str,
                      timestamp: int, content_type: str = "application/json; charset=utf-8",
                      action: str | None = None) -> str:
    """The Authorization header of Tencent Cloud API signature v3. ``action`` given, x-tc-action is a
    signed header too (the documentation's current example); without it, content-type and host."""
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    headers = {"content-type": content_type, "host": host}
    if action is not None:
        headers["x-tc-action"] = action.lower()
    signed_headers = ";".join(sorted(headers))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_headers,
                                   hashlib.sha256(payload.encode()).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical_request.encode()).hexdigest()])

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


class TencentSms:
    VERSION = "2021-01-11"

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.codes = sms_template_codes(settings.sms_templates)
        self.host = urllib.parse.urlsplit(settings.tencent_endpoint).netloc

    def payload(self, message: Message, rendered: Rendered) -> str:
        order = param_order(TEMPLATES[message.template][0])
        return json.dumps({
            "PhoneNumberSet": [f"+86{message.recipient}" if not message.recipient.startswith("+") else message.recipient],
            "SmsSdkAppId": self.s.tencent_sdk_app_id, "SignName": self.s.sms_sign_name,
            "TemplateId": self.codes[message.template],
            "TemplateParamSet": [rendered.params[name] for name in order],
            "SessionContext": message.idempotency_key,
        }, ensure_ascii=False)

    def send(self, message: Message, rendered: Rendered) -> str:
        payload = self.payload(message, rendered)
        timestamp = int(dt.datetime.now(dt.UTC).timestamp())
        auth = tc3_authorization(secret_id=self.s.tencent_secret_id, secret_key=self.s.tencent_secret_key,
                                 service="sms", host=self.host, payload=payload, timestamp=timestamp,
                                 action="SendSms")
        request = urllib.request.Request(self.s.tencent_endpoint, data=payload.encode(), method="POST", headers={
            "Authorization": auth, "Content-Type": "application/json; charset=utf-8", "Host": self.host,
            "X-TC-Action": "SendSms", "X-TC-Version": self.VERSION, "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.s.tencent_region,
        })
        response = _http(request).get("Response", {})
        if "Error" in response:
            error = response["Error"]
            code = str(error.get("Code", "?"))
            permanent = code.startswith(("AuthFailure", "InvalidParameter", "FailedOperation.TemplateIncorrect",
                                         "UnauthorizedOperation"))
            raise SendFailed(f"{code}: {error.get('Message', '')}", permanent=permanent)
        statuses = response.get("SendStatusSet") or [{}]
        status = statuses[0]
        if status.get("Code") != "Ok":
            raise SendFailed(f"{status.get('Code', '?')}: {status.get('Message', '')}",
                             permanent=str(status.get("Code", "")).startswith(("InvalidParameterValue", "FailedOperation.PhoneNumber")))
        return str(status.get("SerialNo") or response.get("RequestId") or "")


def _http(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured https endpoint)
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        if not raw:
            raise SendFailed(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SendFailed(f"网络错误：{exc}") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SendFailed(f"无法解析服务商的回复：{raw[:200]!r}") from exc


# ---------------------------------------------------------------------------------------------------
# E-mail


class Smtp:
    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def send(self, message: Message, rendered: Rendered) -> str:
        mail = EmailMessage()
        mail["From"] = self.s.smtp_from
        mail["To"] = message.recipient
        mail["Subject"] = f"{rendered.subject} · {self.s.column_title}"
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        msgid = f"<{digest}@{self.s.smtp_from.rpartition('@')[2] or 'citizenvoice'}>"
        mail["Message-ID"] = msgid  # the same for every retry: the idempotency key travels with the mail
        mail.set_content(rendered.text)
        mail.add_alternative(rendered.html, subtype="html")
        context = ssl.create_default_context(cafile=self.s.smtp_ca_file or None)
        try:
            if self.s.smtp_tls == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.s.smtp_host, self.s.smtp_port, timeout=TIMEOUT,
                                                        context=context)
            else:
                client = smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=TIMEOUT)
            with client:
                if self.s.smtp_tls == "starttls":
                    client.starttls(context=context)
                if self.s.smtp_username:
                    client.login(self.s.smtp_username, self.s.smtp_password)
                refused = client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendFailed(f"收件地址被拒绝：{exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"SMTP：{exc}") from exc
        if refused:
            raise SendFailed(f"收件地址被拒绝：{refused}", permanent=True)
        log.info("mail %s sent to %s", message.template, mask(message.recipient))
        return msgid


def backends(settings: Settings) -> dict[str, Backend]:
    """channel -> backend, from the settings (validated at start by settings.messaging_problems)."""
    outbox = OutboxFile(Path(settings.data_dir) / "outbox.jsonl")
    sms: Backend = {"aliyun": AliyunSms, "tencent": TencentSms}.get(settings.sms_backend, lambda s: outbox)(settings)
    mail: Backend = Smtp(settings) if settings.smtp_host else outbox
    return {"sms": sms, "email": mail}
