"""The /static mount, with cache headers that match how each file changes.

A versioned name (``arv-tracker.v1.js``) never changes content: a change ships under a new
name, so browsers and CDNs may keep it for a year without revalidating. Anything else may
change with a release and is revalidated after an hour.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=3600"
_VERSIONED = re.compile(r"\.v\d+\.(js|css)$")


class CachedStaticFiles(StaticFiles):
    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if _VERSIONED.search(os.fspath(full_path)):
            response.headers["Cache-Control"] = IMMUTABLE
            # Other sites embed the tracker; this lets them use crossorigin/SRI on the tag.
            response.headers["Access-Control-Allow-Origin"] = "*"
        else:
            response.headers["Cache-Control"] = REVALIDATE
        return response


def static_files() -> CachedStaticFiles:
    return CachedStaticFiles(directory=STATIC_DIR)
