"""Signing in to the dashboard the way a browser does: a cookie jar and the form's CSRF."""

from __future__ import annotations

import re

import httpx


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def page_csrf(html: str) -> str:
    found = re.search(r'name="arv-csrf" content="([^"]+)"', html)
    assert found, html
    return found.group(1)


def cookie_client(base_url: str) -> httpx.Client:
    """A client without a bearer token that keeps cookies, as a browser does."""
    return httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)


def sign_in(web: httpx.Client, token: str, next_url: str = "") -> httpx.Response:
    csrf = form_csrf(web.get("/dashboard").text)
    return web.post("/dashboard/sign-in", data={"csrf": csrf, "token": token, "next": next_url})
