"""A client for the JSON API that checks every answer against /api/v1/openapi.json.

Every API test goes through :class:`ApiClient`, so every response the suite sees is validated: its
status must be one the document lists for that operation, and its body must match that status's
schema (JSON Schema 2020-12, with the document's components). An undocumented status or field fails
the test that met it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient
from support import SAMPLE_BODY

SPEC_PATH = "/api/v1/openapi.json"
PRIVATE_MARKERS = ("phone", "email", "token", "submit_ip", "author_note_internal")


class ApiClient:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        spec = client.get(SPEC_PATH)
        assert spec.status_code == 200
        self.spec: dict[str, Any] = spec.json()
        Draft202012Validator.check_schema({"$defs": self.spec["components"]["schemas"]})
        self.checked = 0
        self._routes = [
            (re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), path) for path in self.spec["paths"]
        ]

    def operation(self, method: str, url: str) -> dict[str, Any]:
        path = httpx2.URL(url).path
        for pattern, template in self._routes:
            if pattern.match(path) and method.lower() in self.spec["paths"][template]:
                return self.spec["paths"][template][method.lower()]
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def validate(self, method: str, url: str, response: httpx2.Response) -> None:
        operation = self.operation(method, url)
        answers = operation["responses"]
        assert str(response.status_code) in answers, (
            f"{method} {url} answered {response.status_code}, which the document does not list: {response.text[:300]}"
        )
        if response.status_code == 304:
            return
        assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
        schema = answers[str(response.status_code)]["content"]["application/json"]["schema"]
        document = {"components": self.spec["components"], **schema}
        errors = sorted(Draft202012Validator(document).iter_errors(response.json()), key=str)
        assert not errors, f"{method} {url} -> {response.status_code}: {errors[0].message} at {list(errors[0].path)}"
        assert "set-cookie" not in response.headers, f"{method} {url} set a cookie"
        self.checked += 1

    def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        response = self.client.request(method, url, **kwargs)
        self.validate(method, url, response)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx2.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, body: Any = None, **kwargs: Any) -> httpx2.Response:
        if body is not None:
            kwargs["content"] = json.dumps(body, ensure_ascii=False).encode()
            kwargs.setdefault("headers", {})["content-type"] = "application/json"
        return self.request("POST", url, **kwargs)


def submission(**overrides: Any) -> dict[str, Any]:
    """A valid body for POST /api/v1/submissions."""
    body: dict[str, Any] = {
        "headline": "让港口的早班车再早一点",
        "body": SAMPLE_BODY,
        "direction": "wellbeing",
        "author_role": "resident",
        "author_name": "王秀兰",
        "affiliation": "",
        "byline_mode": "full",
        "phone": "13912345678",
        "email": "wang@example.cn",
        "consent_publish": True,
        "consent_privacy": True,
        "consent_print": True,
        "idempotency_key": "0b0d6a3e-6f7e-4a3b-9d8c-1f2e3d4c5b6a",
    }
    body.update(overrides)
    return body
