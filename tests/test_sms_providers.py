"""The SMS adapters: each provider's documented signature reproduced from its published worked example,
then real sends through the app's sender to a local fake provider that checks signatures as documented;
settings checked at start with one clear error each."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from citizenvoice.domain.messaging.backends import aliyun_signature, aliyun_string_to_sign, tc3_authorization
from citizenvoice.settings import MESSAGE_KINDS, Settings, SettingsError
from tests import fake_providers
from tests.messaging_helpers import deliver, messages
from tests.submit_helpers import PHONE, submit_essay

CODES = {kind: f"SMS_{100 + n}" for n, kind in enumerate(MESSAGE_KINDS)}
TEMPLATES = ",".join(f"{k}={v}" for k, v in CODES.items())


def test_aliyun_signature_reproduces_the_documented_example() -> None:
    # Alibaba Cloud SMS, "签名机制" (HMAC-SHA1, RPC style): the documentation's worked example.
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun_string_to_sign(params).startswith(
        "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001"
        "%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C")
    assert aliyun_signature("testSecret", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tencent_tc3_signature_reproduces_the_documented_example() -> None:
    # Tencent Cloud API signature v3: the documentation's example (CVM DescribeInstances, 2019-02-25).
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    auth = tc3_authorization(secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                             secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", service="cvm",
                             host="cvm.tencentcloudapi.com", payload=payload, timestamp=1551113065)
    assert auth == ("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
                    "SignedHeaders=content-type;host, "
                    "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def aliyun_settings(settings: Settings, url: str, secret: str = "aliyun-secret") -> dict:
    return {"sms_backend": "aliyun", "aliyun_access_key_id": "LTAI-test", "aliyun_access_key_secret": secret,
            "aliyun_endpoint": url, "sms_sign_name": "市民之声", "sms_templates": TEMPLATES}


def tencent_settings(url: str, key: str = "tencent-key") -> dict:
    return {"sms_backend": "tencent", "tencent_secret_id": "AKID-test", "tencent_secret_key": key,
            "tencent_sdk_app_id": "1400000001", "tencent_endpoint": url, "sms_sign_name": "市民之声",
            "sms_templates": TEMPLATES, "phone_verification": "off"}


def test_aliyun_sends_through_the_fake_provider(settings: Settings, make_app) -> None:
    with fake_providers.aliyun("LTAI-test", "aliyun-secret", "市民之声", set(CODES.values())) as provider:
        app = make_app(settings, phone_verification="off", **aliyun_settings(settings, provider.url))
        with TestClient(app, follow_redirects=False) as client:
            submit_essay(client)
            deliver(client)
            (got,) = provider.received
            assert got["phone"] == PHONE and got["template"] == CODES["received"]
            assert set(got["params"]) == {"headline", "tracking_code", "link"}
            assert got["out_id"].startswith("essay:")
            sent = [m for m in messages(client) if m.channel == "sms"]
            assert sent[0].status == "sent" and sent[0].provider_id.endswith("^0")


def test_aliyun_wrong_secret_fails_with_the_providers_reason(settings: Settings, make_app) -> None:
    with fake_providers.aliyun("LTAI-test", "aliyun-secret", "市民之声", set(CODES.values())) as provider:
        app = make_app(settings, phone_verification="off", **aliyun_settings(settings, provider.url, "wrong"))
        with TestClient(app, follow_redirects=False) as client:
            submit_essay(client)
            deliver(client)
            (sms,) = [m for m in messages(client) if m.channel == "sms"]
            assert provider.errors == ["SignatureDoesNotMatch"] and provider.received == []
            assert sms.status == "failed" and sms.last_error.startswith("SignatureDoesNotMatch")


def test_aliyun_throttling_is_retried(settings: Settings, make_app) -> None:
    with fake_providers.aliyun("LTAI-test", "aliyun-secret", "市民之声", set(CODES.values())) as provider:
        provider.fail_next.append(("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"))
        app = make_app(settings, phone_verification="off", message_retry_seconds=1,
                       **aliyun_settings(settings, provider.url))
        with TestClient(app, follow_redirects=False) as client:
            submit_essay(client)
            deliver(client)
            (sms,) = [m for m in messages(client) if m.channel == "sms"]
            assert sms.status == "queued" and "流控" in sms.last_error and sms.attempts == 1


def test_tencent_sends_through_the_fake_provider(settings: Settings, make_app) -> None:
    with fake_providers.tencent("AKID-test", "tencent-key", "1400000001", "市民之声", set(CODES.values())) as provider:
        with TestClient(make_app(settings, **tencent_settings(provider.url)), follow_redirects=False) as client:
            token = submit_essay(client)
            deliver(client)
            (got,) = provider.received
            assert got["phone"] == f"+86{PHONE}" and got["template"] == CODES["received"]
            headline, code, link = got["params"]  # TemplateParamSet: in the template's order
            assert headline == "河堤上的新步道" and code.startswith("CV-") and "/track/code/" in link
            assert token not in link
            sent = [m for m in messages(client) if m.channel == "sms"]
            assert sent[0].status == "sent" and sent[0].provider_id.startswith("5000:")


def test_tencent_wrong_key_fails_with_the_providers_reason(settings: Settings, make_app) -> None:
    with fake_providers.tencent("AKID-test", "tencent-key", "1400000001", "市民之声", set(CODES.values())) as provider:
        app = make_app(settings, **tencent_settings(provider.url, key="wrong"))
        with TestClient(app, follow_redirects=False) as client:
            submit_essay(client)
            deliver(client)
            (sms,) = [m for m in messages(client) if m.channel == "sms"]
            assert provider.errors == ["AuthFailure.SignatureFailure"]
            assert sms.status == "failed" and sms.last_error.startswith("AuthFailure.SignatureFailure")


def test_tencent_unapproved_template_is_a_permanent_failure(settings: Settings, make_app) -> None:
    with fake_providers.tencent("AKID-test", "tencent-key", "1400000001", "市民之声", {"other"}) as provider:
        with TestClient(make_app(settings, **tencent_settings(provider.url)), follow_redirects=False) as client:
            submit_essay(client)
            deliver(client)
            (sms,) = [m for m in messages(client) if m.channel == "sms"]
            assert sms.status == "failed" and "TemplateIncorrectOrUnapproved" in sms.last_error


@pytest.mark.parametrize(("backend", "missing"), [
    ("aliyun", ["CITIZENVOICE_ALIYUN_ACCESS_KEY_ID", "CITIZENVOICE_ALIYUN_ACCESS_KEY_SECRET",
                "CITIZENVOICE_SMS_SIGN_NAME", "CITIZENVOICE_SMS_TEMPLATES"]),
    ("tencent", ["CITIZENVOICE_TENCENT_SECRET_ID", "CITIZENVOICE_TENCENT_SECRET_KEY",
                 "CITIZENVOICE_TENCENT_SDK_APP_ID", "CITIZENVOICE_SMS_SIGN_NAME", "CITIZENVOICE_SMS_TEMPLATES"]),
])
def test_a_real_backend_names_each_missing_setting_at_start(backend: str, missing: list[str]) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CITIZENVOICE_SMS_BACKEND": backend})
    lines = str(raised.value).splitlines()
    assert [line.split(" ")[0] for line in lines] == missing


def test_template_codes_must_cover_every_message_kind() -> None:
    with pytest.raises(SettingsError, match="no template code for: lost_link"):
        Settings(**{**tencent_settings("https://sms.tencentcloudapi.com/"),
                    "sms_templates": ",".join(f"{k}=1" for k in MESSAGE_KINDS if k != "lost_link")}).resolved()
    with pytest.raises(SettingsError, match="CITIZENVOICE_SMS_BACKEND: expected one of outbox, aliyun, tencent"):
        Settings.from_env({"CITIZENVOICE_SMS_BACKEND": "twilio"})
