"""Parameters shared by the routers, and the strict reading of query strings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from arv_analytics.errors import InvalidInput

# Ids are positive integers below 2**53: every JSON client (JavaScript's Number included)
# reads them exactly, and JSON Schema validators that compare as doubles agree on the bound.
MAX_ID = 2**53 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id")]


def _json_integer(value: object) -> object:
    # JSON Schema's "integer": 5 and 5.0 are integers; "5" and true are not (pydantic's lax
    # mode would take both, its strict mode would refuse 5.0).
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


IdValue = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]
JSON_INTEGER = BeforeValidator(_json_integer)
"""Use as Annotated[int, Field(...), JSON_INTEGER] for a JSON Schema integer in a body."""
"""An id in a JSON body."""

# Only ASCII whitespace counts as space in these rules: Python's and JavaScript's "\s" (the
# document's patterns are read as JavaScript) disagree about some Unicode characters.
ASCII_SPACE = " \t\n\r\f\v"


def _strip_ascii_space(value: str) -> str:
    return value.strip(ASCII_SPACE)


# What both databases can store. PostgreSQL refuses NUL (U+0000) in text, where SQLite would
# store it: every string taken from a client or an admin refuses it, on both, with a 422 that
# names the field, before anything reaches the database. (A lone surrogate, the other thing
# neither can encode, is not a valid string to pydantic: also a 422.) A pattern, not a
# validator, so that /openapi.json states the rule. Use as
# Annotated[str, Field(max_length=N), STORABLE]; query strings are checked in strict_query.
STORABLE_PATTERN = r"^[^\x00]*$"
STORABLE = StringConstraints(pattern=STORABLE_PATTERN)

# A name or title: its limits apply to the text as sent, it must show one non-space character
# and hold no NUL (see STORABLE); surrounding space is then dropped. Use as
# Annotated[str, StringConstraints(min_length=1, max_length=N, pattern=VISIBLE), STRIP_SPACE].
VISIBLE = r"^[^\x00]*[^ \t\n\r\f\v\x00][^\x00]*$"
STRIP_SPACE = AfterValidator(_strip_ascii_space)


def _query_parameters(app: FastAPI) -> dict[tuple[str, str], dict[str, bool]]:
    """(path, method) → {query parameter: accepts several values}, from the OpenAPI document."""
    cached: dict[tuple[str, str], dict[str, bool]] | None = getattr(
        app.state, "query_parameters", None
    )
    if cached is None:
        cached = {}
        for path, item in app.openapi().get("paths", {}).items():
            for method, operation in item.items():
                params: list[dict[str, Any]] = operation.get("parameters", [])
                cached[(path, method.upper())] = {
                    p["name"]: _is_array(p.get("schema", {})) for p in params if p["in"] == "query"
                }
        app.state.query_parameters = cached
    return cached


def _is_array(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "array" for option in options)


async def strict_query(request: Request) -> None:
    """Refuses query parameters a route does not declare, and repeats of single values.

    FastAPI would ignore ``?day=7`` (meant: ``days``) and answer the default window, and
    would silently take the last of ``?limit=5&limit=500``; both are mistakes worth a 422.
    """
    route = request.scope.get("route")
    if not request.query_params or route is None:
        return
    declared = _query_parameters(request.app).get((route.path_format, request.method))
    if declared is None:  # a route outside the document (pages, docs) keeps its own rules
        return
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in declared:
            raise InvalidInput(
                f"{name or '(empty name)'}: unknown query parameter",
                [{"field": name, "message": "unknown query parameter"}],
            )
        if not declared[name] and len(request.query_params.getlist(name)) > 1:
            message = "given more than once"
            raise InvalidInput(f"{name}: {message}", [{"field": name, "message": message}])
        if any("\x00" in value for value in request.query_params.getlist(name)):
            message = "must not contain NUL (U+0000)"  # see STORABLE
            raise InvalidInput(f"{name}: {message}", [{"field": name, "message": message}])
