"""Domain exceptions. Each carries a Chinese message that pages show as it is."""
from __future__ import annotations


class DomainError(Exception):
    """Base: a refusal the user can understand and act on."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def join_messages(messages) -> str:
    """Several sentences as one: "须填写日期；约谈须填写约谈人。", not "须填写日期。；约谈须…"."""
    parts = [m.strip().rstrip("。；;.") for m in messages if m and m.strip()]
    return "；".join(parts) + "。" if parts else ""


class ValidationError(DomainError):
    """Bad input. `fields` maps a field key to its message, shown beside that field."""

    def __init__(self, fields: dict[str, str] | str):
        if isinstance(fields, str):
            fields = {"_": fields}
        self.fields = fields
        super().__init__(join_messages(fields.values()))


class PermissionDenied(DomainError):
    pass


class NotFound(DomainError):
    pass


class ConcurrentEdit(DomainError):
    def __init__(self, message: str = "该记录已被他人修改，请刷新后重试。"):
        super().__init__(message)


class IllegalTransition(DomainError):
    pass
