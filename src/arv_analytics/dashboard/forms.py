"""What the dashboard's HTML routes share: the templates and the rules for posted forms."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates

from arv_analytics import __version__

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "web" / "templates")
templates.env.globals["version"] = __version__

NO_STORE = {"Cache-Control": "no-store"}
_MAX_FORM_BYTES = 4096


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {k: v[0] for k, v in parsed.items() if v}


def same_origin(request: Request) -> bool:
    """A browser names the page a form came from; a form posted from elsewhere is refused."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.url.netloc
