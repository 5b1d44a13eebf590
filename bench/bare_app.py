"""The ceiling of bench/ingest.py: a bare FastAPI + pydantic POST app on the same server software.

    .venv/bin/python bench/bare_app.py --port 8123

One route, POST /api/analytics/ar-session, validating a pydantic model shaped like the real
start payload and answering the same JSON; no database, no enrichment. uvicorn runs it with
the settings `arv-analytics serve` uses (one worker, log level info, no proxy headers).
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path
from typing import Annotated, Literal

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, StrictBool


class StartPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    portrait_id: int | None = None
    ar_content_id: int | None = None
    ar_content_unique_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    user_agent: Annotated[str, Field(max_length=2048)] | None = None
    tracking_quality: Literal["none", "poor", "fair", "good"] | None = None
    video_played: StrictBool = False
    time_to_first_found_ms: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    tracked_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    target_losses: Annotated[int, Field(ge=0)] | None = None


class StartAnswer(BaseModel):
    status: Literal["tracked"] = "tracked"
    session_id: uuid.UUID


app = FastAPI()


@app.post("/api/analytics/ar-session", response_model=StartAnswer)
async def start(event: StartPayload) -> StartAnswer:
    return StartAnswer(session_id=event.session_id or uuid.uuid4())


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "bare_app:app",
        host="127.0.0.1",
        port=args.port,
        log_level="info",
        workers=1,
        proxy_headers=False,
        timeout_graceful_shutdown=30,
        app_dir=str(Path(__file__).parent),
    )


if __name__ == "__main__":
    main()
