"""The OpenAPI 3.1 document of the intake API (served at /api/v1/openapi.json; docs/api.md).

Written by hand from the same constants the code checks (fields, limits, statuses, levels), so the
document cannot promise a limit the service does not keep. tests/test_intake_api.py validates real
requests and answers against these schemas with jsonschema.
"""
from __future__ import annotations

from services.api_keys import PLATFORMS
from services.cases import calls, intake, ladder

EXAMPLE_CALL = {
    "source": "110",
    "external_id": "J3609812026112000123",
    "received_at": "2026-11-20T09:15:00+08:00",
    "caller_name": "王小明",
    "caller_phone": "13800138000",
    "village_code": "T01-V01",
    "address": "剑光街道柳源社区幸福路 12 号",
    "service_code": "neighbor",
    "description": "两户因排水沟堵塞发生争执，来电人请求调解",
}
EXAMPLE_ANSWER = {
    "source": "110", "external_id": "J3609812026112000123", "case_number": "丰-2026-000123", "status": "open",
    "portal_status": "registered", "portal_status_name": "待调度", "level": "onsite", "level_name": "现场调解",
    "received_at": "2026-11-20T09:15:00+08:00", "accepted_at": "2026-11-20T09:15:02+08:00",
    "updated_at": "2026-11-20T09:15:02+08:00",
}


def _error(description: str, example: dict, headers: dict | None = None) -> dict:
    out = {"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}, "example": example}}}
    if headers:
        out["headers"] = headers
    return out


def document() -> dict:
    text = {"type": "string"}
    retry = {"Retry-After": {"description": "秒数：本分钟窗口结束还剩多久", "schema": {"type": "integer", "minimum": 1}}}
    location = {"Location": {"description": "该警情的查询地址", "schema": {"type": "string"}}}
    common = {
        "401": _error("缺少接口密钥，或密钥无效、已作废", {"error": "接口密钥无效或已作废，请联系综治中心管理员。"},
                      {"WWW-Authenticate": {"schema": text}}),
        "429": _error("调用过于频繁（每个密钥每分钟的上限见 系统设置 → 对接平台）",
                      {"error": "调用过于频繁：每个接口密钥每分钟最多调用 60 次，请 12 秒后再试。"}, retry),
        "500": _error("系统出错（不含任何技术细节）", {"error": "系统处理该请求时出错，请稍后重试；如持续出现，请联系综治中心。"}),
        "503": _error("数据库暂时不可用", {"error": "系统暂时无法处理，请稍后重试。"}, {"Retry-After": {"schema": text}}),
    }
    call_answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Call"},
                                                    "example": EXAMPLE_ANSWER}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "母舅坐上 · 110 / 12345 非警务警情接入接口",
            "version": "1.0.0",
            "description": ("110 接警平台与 12345 热线平台向综治中心推送非警务警情，并查询办理进度。"
                            "每个平台一个接口密钥（系统设置 → 对接平台创建，只显示一次）。同一平台编号重复提交只生成一件案件。"
                            "时间为 ISO 8601；不带时区的时间按北京时间理解。详见 docs/api.md。"),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/services": {"get": {
                "summary": "纠纷类别列表（Open311 services）",
                "operationId": "listServices",
                "responses": {"200": {"description": "启用中的纠纷类别",
                                      "content": {"application/json": {"schema": {
                                          "type": "array", "items": {"$ref": "#/components/schemas/Service"}}}}},
                              **{k: common[k] for k in ("401", "429", "500", "503")}},
            }},
            "/api/v1/calls": {"post": {
                "summary": "推送一条警情（幂等：同一来源与平台编号只登记一次）",
                "operationId": "postCall",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/CallRequest"}, "example": EXAMPLE_CALL}}},
                "responses": {
                    "201": {"description": "已登记为新案件", "headers": location, **call_answer},
                    "200": {"description": "该平台编号此前已提交（或已由工作人员登记）：同一案件，未新建", "headers": location,
                            **call_answer},
                    "400": _error("请求体不是合法的 JSON 对象", {"error": "请求体不是合法的 UTF-8 JSON。"}),
                    "403": _error("来源与密钥所属平台不一致",
                                  {"error": "该接口密钥属于12345 热线平台，只能提交来源为 12345 的警情。"}),
                    "413": _error("请求体超过 64 KB", {"error": "请求体超过 64 KB，未处理。"}),
                    "415": _error("请求体不是 application/json",
                                  {"error": "请求体须为 JSON，请设置 Content-Type: application/json（UTF-8）。"}),
                    "422": _error("字段有误：fields 中每个字段一条中文说明",
                                  {"error": "提交的字段有误，请按 fields 中的说明修改后重新提交。",
                                   "fields": {"caller_phone": "手机号码应为 11 位，以 13–19 开头（可带 +86）。"}}),
                    **common,
                },
            }},
            "/api/v1/calls/{source}/{external_id}": {"get": {
                "summary": "查询警情的办理进度（只能查询本平台推送的警情）",
                "operationId": "getCall",
                "parameters": [
                    {"name": "source", "in": "path", "required": True, "schema": {"type": "string", "enum": list(PLATFORMS)}},
                    {"name": "external_id", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": calls.EXTERNAL_ID_RE.pattern}},
                ],
                "responses": {
                    "200": {"description": "案件编号、状态、层级和最近更新时间", **call_answer},
                    "404": _error("没有该警情，或它属于另一个平台", {"error": "未找到该警情：编号不存在，或不属于本平台。"}),
                    **common,
                },
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "本文档", "operationId": "openapi", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 文档", "content": {"application/json": {}}}},
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "Authorization: Bearer mj_<110|12345>_<43 位随机字符>；每个平台一个密钥，由管理员创建和作废。"}},
            "schemas": {
                "CallRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["source", "external_id", "received_at", "caller_name", "caller_phone", "service_code",
                                 "description"],
                    "anyOf": [{"required": ["village_code"]}, {"required": ["address"]}],
                    "properties": {
                        "source": {"type": "string", "enum": list(PLATFORMS),
                                   "description": "来源平台，须与接口密钥所属平台一致"},
                        "external_id": {"type": "string", "pattern": calls.EXTERNAL_ID_RE.pattern,
                                        "maxLength": calls.EXTERNAL_ID_MAX,
                                        "description": "平台自己的编号：110 接警单号或 12345 工单号；幂等键"},
                        "received_at": {"type": "string", "pattern": calls.TIME_RE.pattern,
                                        "description": "接报时间，ISO 8601；带时区（+08:00、Z）或不带（按北京时间）；不能晚于当前时间"},
                        "caller_name": {"type": "string", "minLength": 1, "maxLength": 50, "description": "来电人姓名"},
                        "caller_phone": {"type": "string", "maxLength": 30,
                                         "description": "来电人手机号码：11 位，可带 +86、空格或横线"},
                        "township_code": {"type": "string", "maxLength": 20, "description": "乡镇（街道）代码，如 T01（可选）"},
                        "village_code": {"type": "string", "maxLength": 30,
                                         "description": "村（社区）代码，如 T01-V01；不填时须在 address 中写明乡镇（街道）和村（社区）全称"},
                        "address": {"type": "string", "maxLength": 200, "description": "发生地址（自由文本）"},
                        "service_code": {"type": "string", "description": "纠纷类别代码，见 GET /api/v1/services"},
                        "description": {"type": "string", "minLength": 5, "maxLength": intake.DESCRIPTION_MAX,
                                        "description": "简要案情"},
                    },
                },
                "Call": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["source", "external_id", "case_number", "status", "portal_status", "portal_status_name",
                                 "level", "level_name", "received_at", "accepted_at", "updated_at"],
                    "properties": {
                        "source": {"type": "string", "enum": list(PLATFORMS)},
                        "external_id": text,
                        "case_number": {"type": "string", "description": "案件编号，如 丰-2026-000123"},
                        "status": {"type": "string", "enum": ["open", "closed"],
                                   "description": "Open311 状态：办理中为 open；调解成功、终止、引导诉讼、闭环为 closed（回访不满意重新办理时回到 open）"},
                        "portal_status": {"type": "string", "enum": list(ladder.STATUSES)},
                        "portal_status_name": {"type": "string", "enum": [name for name, _ in ladder.STATUSES.values()]},
                        "level": {"type": "string", "enum": list(ladder.LEVELS)},
                        "level_name": text,
                        "received_at": {"type": "string", "format": "date-time"},
                        "accepted_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time", "description": "案件最近一次变化的时间"},
                    },
                },
                "Service": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["service_code", "service_name", "metadata", "type", "group"],
                    "properties": {"service_code": text, "service_name": text, "metadata": {"type": "boolean"},
                                   "type": {"type": "string", "enum": ["realtime"]}, "group": text},
                },
                "Error": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["error"],
                    "properties": {"error": {"type": "string", "description": "一句中文说明"},
                                   "fields": {"type": "object", "additionalProperties": {"type": "string"},
                                              "description": "字段名 → 该字段的中文说明"}},
                },
            },
        },
    }
