"""Log lines: plain text or one JSON object per line, each with the request id.

``serve`` hands :func:`logging_config` to uvicorn, so its own loggers, the app's and the
access line all go through the same formatter. The :class:`Scrub` filter is the last guard:
whatever a message says, an IPv4 address loses its last octet and an IPv6 address everything
after its /48 prefix, and bearer tokens are cut, before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Literal

from arv_analytics.observability.requests import ACCESS_LOGGER, REQUEST_ID

_IPV4 = re.compile(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_TOKEN = re.compile(r"\barv_[A-Za-z0-9_-]{20,}")
# A share link's path is its secret (tenancy/share_links.py).
_SHARE = re.compile(r"(/share/)[A-Za-z0-9_-]{16,}")
# Attributes every LogRecord has; anything else was passed as ``extra`` and is logged as is.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def scrub(text: str) -> str:
    # Each pattern only where the text holds what it needs (a substring test is ~50× cheaper
    # than a regex search): every tracking request writes an access line.
    if "bearer" in text.lower():
        text = _BEARER.sub(r"\1[redacted]", text)
    if "arv_" in text:
        text = _TOKEN.sub("arv_[redacted]", text)
    if "/share/" in text:
        text = _SHARE.sub(r"\1[redacted]", text)
    if "." in text:
        text = _IPV4.sub(r"\1.x", text)
    if ":" in text:
        text = _IPV6.sub(_ipv6_prefix, text)
    return text


def _ipv6_prefix(match: re.Match[str]) -> str:
    try:
        address = IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)  # a clock time or anything else with colons
    return f"{IPv6Network((address, 48), strict=False).network_address}/48"


class Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple):
            # The access line: its path is the only part a caller chose (requests.py).
            asked = str(record.args[1])
            safe = scrub(asked)
            if safe != asked:
                record.args = (record.args[0], safe, *record.args[2:])
                record.path = safe
            record.request_id = REQUEST_ID.get()
            return True
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        path = getattr(record, "path", None)  # the access line's own field
        if isinstance(path, str):
            record.path = scrub(path)
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key != "color_message":
                line[key] = value
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{base} [request {request_id}]" if request_id else base


def lean_records() -> None:
    """Log records without the caller's file, line and function, thread and process: no
    formatter here prints them, and looking them up was a quarter of the cost of every
    access line (the logging HOWTO's "Optimization"). Called by the serving process."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_config(fmt: Literal["text", "json"], level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for uvicorn's ``log_config``: every logger through one scrubbed handler."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"()": f"{__name__}.TextFormatter", "fmt": "%(levelname)s %(name)s: %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "filters": ["scrub"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"scrub": {"()": f"{__name__}.Scrub"}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "": {"handlers": ["main"], "level": level},
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # uvicorn's access line names the client's address; ours does not (requests.py).
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
