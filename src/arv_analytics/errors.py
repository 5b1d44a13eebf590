"""One error family and the one JSON shape every error takes: ``{"error", "detail"}``.

Services raise :class:`AppError` subclasses; nothing below the endpoints knows about HTTP
exceptions. The handlers registered here also reshape FastAPI's own validation errors and
Starlette's 404/405 so that clients never see a second error format or a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

log = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class Overloaded(AppError):
    """The write queue is full: back-pressure instead of unbounded memory."""

    status_code = 503
    code = "overloaded"

    def __init__(self, detail: str = "ingest queue is full; retry shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class Unavailable(AppError):
    """The database is not answering; nothing was stored."""

    status_code = 503
    code = "database_unavailable"

    def __init__(self, detail: str = "the database is not answering; retry shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "2"})


class NotReady(AppError):
    """A readiness check failed: a load balancer should send this process no traffic."""

    status_code = 503
    code = "not_ready"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


class SessionClosed(AppError):
    """An end or heartbeat for a view that started too long ago to be still running."""

    status_code = 409
    code = "session_closed"


class InvalidInput(AppError):
    """422 that names the offending fields."""

    status_code = 422
    code = "validation_error"

    def __init__(self, detail: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.fields = fields or []

    @classmethod
    def from_errors(
        cls, errors: Sequence[Any], *, skip_prefix: int = 0, tags: frozenset[str] = frozenset()
    ) -> InvalidInput:
        """One ``fields`` entry per error that is about a field; errors about the body as a
        whole (not an object, say) are in ``detail`` only: ``fields`` names fields, nothing
        else. ``tags``: the values of a discriminated union's tag, which pydantic puts in
        the error's location although they name no field."""
        fields, parts = [], []
        for err in errors:
            loc = [str(p) for p in err.get("loc", ())][skip_prefix:]
            if loc and loc[0] in tags:
                loc = loc[1:]
            ctx = err.get("ctx") or {}
            if err.get("type") in ("union_tag_not_found", "union_tag_invalid"):
                # "Unable to extract tag using discriminator 'role'": the tag field is wrong.
                loc = [str(ctx.get("discriminator", "")).strip("'")]
            name, message = ".".join(loc), str(err.get("msg"))
            if err.get("type") == "string_pattern_mismatch" and "\x00" in str(err.get("input")):
                message = "must not contain NUL (U+0000)"  # what the pattern's [^\x00] means
            parts.append(f"{name or 'body'}: {message}")
            if name:
                fields.append({"field": name, "message": message})
        return cls("; ".join(parts) or "invalid input", fields)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `video_played`")
    message: str


class ErrorOut(BaseModel):
    """The one error shape. Documented on every route so that clients can rely on it."""

    error: str = Field(description="Stable machine-readable code, e.g. `not_found`")
    detail: str = Field(description="Human-readable explanation")
    fields: list[FieldError] | None = Field(
        default=None, description="422 only: one entry per invalid field"
    )


_DESCRIPTIONS = {
    400: "The body could not be read (not JSON, or not UTF-8)",
    401: "Missing, unknown or revoked bearer token",
    403: "A company token on an admin-only route",
    404: "Unknown id, or one that belongs to another company",
    409: "Conflicts with the current state",
    413: "Body larger than the limit",
    415: "Body neither application/json nor text/plain",
    422: "Invalid input; `fields` names each invalid field",
    429: "Too many requests from this client; see `Retry-After`",
    503: "Write queue full or database not answering; see `Retry-After`",
}


def responses(
    *codes: int, descriptions: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers of a route, all with the ErrorOut schema.

    Declaring 422 here also replaces FastAPI's default validation-error schema, which is
    not the shape this API answers with.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        text = (descriptions or {}).get(code, _DESCRIPTIONS[code])
        entry: dict[str, Any] = {"model": ErrorOut, "description": text}
        if code in (429, 503):
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        if code == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}
            }
        out[code] = entry
    return out


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def app_error_answer(exc: AppError) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """Status, body and headers of an AppError's answer (the handler and the fast path)."""
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput) and exc.fields:
        extra["fields"] = exc.fields
    return exc.status_code, error_body(exc.code, exc.detail, **extra), exc.headers


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    status, body, headers = app_error_answer(exc)
    return JSONResponse(body, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | ValidationError)
    errors = exc.errors()
    unreadable = [e for e in errors if e.get("type") == "json_invalid"]
    if unreadable:
        # Not JSON at all: FastAPI reports it as a 422 at a character offset ("field" "9");
        # the body could not be read, which is the documented 400.
        position = unreadable[0].get("loc", ("body", 0))[-1]
        return await _app_error(
            request, AppError(f"the body is not valid JSON (error at character {position})")
        )
    # FastAPI prefixes locations with "query"/"path"/"body"; keep the field name readable.
    err = InvalidInput.from_errors(errors, skip_prefix=1, tags=_union_tags(request))
    return await _app_error(request, err)


def _union_tags(request: Request) -> frozenset[str]:
    """The tag values of the route's body when it is a discriminated union (token bodies)."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    if field is None or not _is_tagged_union(field.field_info):
        return frozenset()
    tags: set[str] = set()
    for member in get_args(_strip_annotated(field.field_info.annotation)):
        model_fields = getattr(member, "model_fields", {})
        for info in model_fields.values():
            if get_origin(info.annotation) is Literal:
                tags.update(str(v) for v in get_args(info.annotation))
    return frozenset(tags)


def _is_tagged_union(info: Any) -> bool:
    if getattr(info, "discriminator", None) is not None:
        return True
    return any(getattr(m, "discriminator", None) is not None for m in info.metadata)


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; list them all.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        match, _ = context.matches(request.scope)
        if match != Match.NONE:
            methods |= set(context.methods or ())
    return sorted(methods)


def error_answer(
    exc: Exception, method: str, path: str
) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """The answer to any error a route let through: an AppError's own, or what a database
    error or a bug means for the client (logged here, once)."""
    from arv_analytics.db import is_unavailable  # db imports FastAPI pieces; avoid a cycle
    from arv_analytics.db_retry import describe, is_data_fault, is_transient

    if isinstance(exc, AppError):
        return app_error_answer(exc)
    if isinstance(exc, ClientDisconnect):
        # The client went away before its body arrived (a closed tab, a lost network): not
        # the server's fault, nothing was stored, and nobody is left to read an answer.
        log.info("client closed the connection during its body on %s %s", method, path)
        return 499, error_body("client_closed_request", "the client closed the connection"), None
    if is_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", method, path, exc)
        return app_error_answer(Unavailable())
    if is_transient(exc):  # a deadlock lost outside the write buffer, which retries its own
        log.warning("write conflict on %s %s: %s", method, path, exc)
        return app_error_answer(Overloaded("write conflict in the database; retry"))
    if is_data_fault(exc):  # a value the checks before the database let through
        log.warning("value refused on %s %s: %s", method, path, describe(exc))
        return app_error_answer(InvalidInput("the database refused a value of this request"))
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return 500, error_body("internal_error", "internal server error"), None


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    status, body, headers = error_answer(exc, request.method, request.url.path)
    return JSONResponse(body, status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Database errors get their answer here, in the inner exception middleware: the handler
    # of `Exception` runs in Starlette's outermost middleware, which re-raises after
    # answering, so the server closes the connection and a keep-alive client's next request
    # on it is reset (seen when the disk fills up).
    for kind in (SQLAlchemyError, OSError, TimeoutError, UnicodeError, ClientDisconnect):
        app.add_exception_handler(kind, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
