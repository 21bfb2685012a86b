"""Local stand-ins for Alibaba Cloud SMS and Tencent Cloud SMS: real HTTP servers on ephemeral ports
that check each request's signature the way the provider's documentation describes it (written here
independently of the app's signing code) and answer with the provider's documented response shapes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Provider:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the error codes answered
    fail_next: list[tuple[str, str]] = field(default_factory=list)  # (code, message) to answer next


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# ---------------------------------------------------------------------------------------------------
# Alibaba Cloud: https://help.aliyun.com/document_detail/101343.html (签名机制, RPC style, HMAC-SHA1)


def _pct(value: str) -> str:
    # "URL-encode per RFC 3986 with UTF-8: A-Z a-z 0-9 - _ . ~ unencoded; space as %20, * as %2A, ~ kept"
    return urllib.parse.quote(value, safe="~").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


@contextmanager
def aliyun(access_key_id: str, secret: str, sign_name: str, template_codes: set[str]) -> Iterator[Provider]:
    provider = Provider("")
    nonces: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, code: str, message: str) -> None:
            provider.errors.append(code)
            self.answer(status, {"RequestId": "8906582E-6722-409A-A6C4-0E7863B733A5", "HostId": "dysmsapi.aliyuncs.com",
                                 "Code": code, "Message": message})

        def do_GET(self) -> None:
            query = urllib.parse.urlsplit(self.path).query
            params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
            signature = params.pop("Signature", "")
            canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
            to_sign = "GET&" + _pct("/") + "&" + _pct(canonical)
            expected = base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
            if params.get("AccessKeyId") != access_key_id:
                return self.error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
            if not hmac.compare_digest(signature, expected):
                return self.error(400, "SignatureDoesNotMatch",
                                  f"Specified signature is not matched with our calculation. server string to sign is:{to_sign}")
            if (params.get("SignatureMethod"), params.get("SignatureVersion"), params.get("Version"),
                    params.get("Action")) != ("HMAC-SHA1", "1.0", "2017-05-25", "SendSms"):
                return self.error(400, "InvalidParameter", "The specified parameter is not valid.")
            stamp = dt.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > 900:
                return self.error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
            if params["SignatureNonce"] in nonces:
                return self.error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            nonces.add(params["SignatureNonce"])
            if provider.fail_next:
                code, message = provider.fail_next.pop(0)
                provider.errors.append(code)
                return self.answer(200, {"Message": message, "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                                         "Code": code})
            if params.get("SignName") != sign_name:
                return self.answer(200, {"Message": "签名不合法", "RequestId": "x", "Code": "isv.SMS_SIGNATURE_ILLEGAL"})
            if params.get("TemplateCode") not in template_codes:
                return self.answer(200, {"Message": "模板不合法", "RequestId": "x", "Code": "isv.SMS_TEMPLATE_ILLEGAL"})
            if not params.get("PhoneNumbers", "").isdigit() or len(params["PhoneNumbers"]) != 11:
                return self.answer(200, {"Message": "非法手机号", "RequestId": "x", "Code": "isv.MOBILE_NUMBER_ILLEGAL"})
            provider.received.append({"phone": params["PhoneNumbers"], "template": params["TemplateCode"],
                                      "params": json.loads(params["TemplateParam"]), "out_id": params.get("OutId")})
            self.answer(200, {"Message": "OK", "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                              "BizId": f"9006197469364984{len(provider.received):02d}^0", "Code": "OK"})

    server, provider.url = _serve(Handler)
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------------
# Tencent Cloud: https://cloud.tencent.com/document/api/382/52071 (签名方法 v3, TC3-HMAC-SHA256)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def tencent(secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str,
            template_ids: set[str]) -> Iterator[Provider]:
    provider = Provider("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, body: dict[str, Any]) -> None:
            data = json.dumps({"Response": {**body, "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}}).encode()
            self.send_response(200)  # Tencent Cloud API answers errors with 200 and Response.Error
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, code: str, message: str) -> None:
            provider.errors.append(code)
            self.answer({"Error": {"Code": code, "Message": message}})

        def do_POST(self) -> None:
            payload = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            auth = self.headers.get("Authorization", "")
            try:
                algorithm, rest = auth.split(" ", 1)
                parts = dict(item.strip().split("=", 1) for item in rest.split(","))
                credential_id, date, service, terminator = parts["Credential"].split("/")
                signed_headers = parts["SignedHeaders"].split(";")
            except ValueError:
                return self.error("AuthFailure.InvalidAuthorization", "Authorization header format is invalid.")
            if algorithm != "TC3-HMAC-SHA256" or terminator != "tc3_request" or service != "sms":
                return self.error("AuthFailure.InvalidAuthorization", "Authorization header format is invalid.")
            if credential_id != secret_id:
                return self.error("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct.")
            timestamp = int(self.headers.get("X-TC-Timestamp", "0"))
            if abs(dt.datetime.now(dt.UTC).timestamp() - timestamp) > 300:
                return self.error("AuthFailure.SignatureExpire", "Signature expired. Timestamp is older than 5 minutes.")
            if date != dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d"):
                return self.error("AuthFailure.SignatureFailure", "The date in the credential scope does not match the timestamp.")
            if "content-type" not in signed_headers or "host" not in signed_headers:
                return self.error("AuthFailure.SignatureFailure", "content-type and host must be signed.")
            # CanonicalHeaders: lowercase name, trimmed value, "\n" after each; x-tc-action's value lowercased.
            canonical_headers = ""
            for name in sorted(signed_headers):
                value = (self.headers.get(name) or "").strip()
                canonical_headers += f"{name}:{value.lower() if name == 'x-tc-action' else value}\n"
            canonical_request = "POST\n/\n\n" + canonical_headers + "\n" + ";".join(sorted(signed_headers)) + "\n" + _sha256_hex(payload)
            string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{_sha256_hex(canonical_request.encode())}"
            secret_date = hmac.new(("TC3" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
            secret_service = hmac.new(secret_date, service.encode(), hashlib.sha256).digest()
            secret_signing = hmac.new(secret_service, b"tc3_request", hashlib.sha256).digest()
            expected = hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(parts.get("Signature", ""), expected):
                return self.error("AuthFailure.SignatureFailure",
                                  "The provided credentials could not be validated. Please check your signature is correct.")
            if (self.headers.get("X-TC-Action"), self.headers.get("X-TC-Version")) != ("SendSms", "2021-01-11"):
                return self.error("InvalidAction", "The requested action does not exist.")
            body = json.loads(payload)
            if provider.fail_next:
                code, message = provider.fail_next.pop(0)
                return self.error(code, message)
            if body.get("SmsSdkAppId") != sdk_app_id:
                return self.error("FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId verification failed.")
            if body.get("SignName") != sign_name:
                return self.error("FailedOperation.SignatureIncorrectOrUnapproved", "签名格式错误或者签名未审批。")
            if body.get("TemplateId") not in template_ids:
                return self.error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或请求的内容与审核通过的模板内容不匹配。")
            statuses = []
            for phone in body["PhoneNumberSet"]:
                provider.received.append({"phone": phone, "template": body["TemplateId"],
                                          "params": body["TemplateParamSet"], "context": body.get("SessionContext")})
                statuses.append({"SerialNo": f"5000:10457106691570536578494996{len(provider.received):02d}",
                                 "PhoneNumber": phone, "Fee": 1, "SessionContext": body.get("SessionContext", ""),
                                 "Code": "Ok", "Message": "send success", "IsoCode": "CN"})
            self.answer({"SendStatusSet": statuses})

    server, provider.url = _serve(Handler)
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
