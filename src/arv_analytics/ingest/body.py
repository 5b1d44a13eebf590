"""Reading a tracking body: JSON sent as application/json or as text/plain.

``navigator.sendBeacon`` and ``fetch(..., {keepalive: true})`` send text/plain so that no CORS
preflight is needed; the platform this replaces could not read those bodies at all.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from arv_analytics.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

E = TypeVar("E", bound=BaseModel)

ACCEPTED_MEDIA_TYPES = ("application/json", "text/plain")


async def read_limited(request: Request, limit: int) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType(f"send application/json or text/plain, not {media}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
    return bytes(body)


async def parse_event(request: Request, model: type[E], limit: int) -> E:
    raw = await read_limited(request, limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput.from_errors(exc.errors()) from exc


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """Documents the body under both accepted media types (it is parsed by hand)."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {media: {"schema": schema} for media in ACCEPTED_MEDIA_TYPES},
        }
    }
