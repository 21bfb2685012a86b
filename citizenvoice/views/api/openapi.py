"""/api/v1/openapi.json, generated from the operations and the Structs that validate them."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from citizenvoice.views.api import schema

VERSION = "1.0.0"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_DESCRIPTIONS = {200: "成功", 201: "已收到", 202: "已发出", 304: "与客户端手中的版本相同（If-None-Match）", 400: "不是有效的 JSON", 404: "不存在", 409: "状态已变化或冲突", 410: "已下线",
                 413: "请求体过大", 415: "不是 JSON", 422: "字段有误", 429: "太频繁", 503: "暂时不可用"}
_COMMON_ERRORS = (400, 413, 415, 429)


def _path(path: str) -> str:
    return _PARAM.sub(r"{\1}", path)


@functools.cache
def _components(types: tuple[Any, ...]) -> tuple[dict[Any, Any], dict[str, Any]]:
    refs, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    return dict(zip(types, refs, strict=True)), components


def document(operations: Sequence[Any], server: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document (JSON Schema 2020-12 components, as msgspec writes them)."""
    types: list[Any] = []
    for op in operations:
        for shape in (op.body, *op.answers.values()):
            if shape not in (None, dict) and shape not in types:
                types.append(shape)
    if schema.ErrorBody not in types:
        types.append(schema.ErrorBody)
    refs, components = _components(tuple(types))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        prefix = "/api/v1"
        entry: dict[str, Any] = {
            "operationId": op.handler.__name__, "summary": op.summary, "tags": [op.tag], "responses": {},
        }
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in _PARAM.findall(op.path)]
        parameters += [{"name": name, "in": "query", "required": False, "description": text,
                        "schema": {"type": "string"}} for name, text in op.query.items()]
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[op.body]}}}
        answers = dict(op.answers)
        if op.method == "POST":
            answers.update({status: schema.ErrorBody for status in _COMMON_ERRORS if status not in answers})
        if op.method == "GET" and op.tag == "read":
            answers[304] = None  # published reads carry an ETag
        for status, shape in sorted(answers.items()):
            if shape is None:
                entry["responses"][str(status)] = {"description": _DESCRIPTIONS[status]}
                continue
            content = {"type": "object"} if shape is dict else refs[shape]
            entry["responses"][str(status)] = {
                "description": _DESCRIPTIONS.get(status, "错误"), "content": {"application/json": {"schema": content}},
            }
        paths.setdefault(prefix + _path(op.path), {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CitizenVoice API", "version": VERSION,
            "description": "「写给下一个五年」征文平台的 JSON 接口：公开文章的读取，以及作者本人的投稿、查询、撤回和修改。"
                           "错误一律为 {\"error\": {\"code\", \"message\", \"fields\"}}。",
        },
        "servers": [{"url": server}],
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {"schemas": components},
    }
