"""Summarise py-spy collapsed stacks (``py-spy record --format raw``): where the time goes.

    .venv/bin/python bench/profile_summary.py bench/results/profile/buffered-starts.txt [--top 25]

Prints the share of samples per part of the server (each sample counted once, for its
innermost recognised frame), then the top functions by inclusive and by self time. py-spy
leaves idle time out by default, so the shares are of the server's busy CPU time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Parts of the server, by substrings of a frame ("function (file:line)"). Each sample goes to
# the part of its innermost matching frame (walking from the leaf towards the root), so the
# shares add up to 100%. SQLAlchemy's async layer runs the sync ORM code in a greenlet, which
# py-spy shows as a separate stack rooted at Session.execute: those samples are the writer's.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLAlchemy: compiling the batch INSERT/UPDATE", ("sqlalchemy/sql/",)),
    ("asyncpg (driver, protocol)", ("asyncpg/",)),
    ("SQLAlchemy: ORM, engine, pool (rest)", ("sqlalchemy/",)),
    ("writer task (buffer.py, writes.py, merge.py)", ("arv_analytics/ingest/buffer.py",)),
    (
        "enrichment (UA parsing, bot rules, IP hash, geo)",
        (
            *("Enricher.enrich", "ingest/bots.py", "ingest/useragent.py", "ingest/geo.py"),
            *("ingest/client_ip.py", "ingest/enrichment.py", "arv_analytics/privacy/"),
        ),
    ),
    ("body read (body.py)", ("ingest/body.py",)),
    ("pydantic (validation, serialisation)", ("pydantic/", "pydantic_core")),
    ("content lookup", ("catalog_cache.py",)),
    ("tracking route (Ingest.start/end, endpoints.py)", ("arv_analytics/ingest/",)),
    ("uvicorn access log (logging)", ("logging/",)),
    ("app middlewares (security headers, CORS, body limit)", ("arv_analytics/web/",)),
    ("FastAPI/Starlette (routing, dependencies, responses)", ("fastapi/", "starlette/")),
    ("uvicorn HTTP protocol (httptools)", ("uvicorn/protocols/",)),
    ("event loop (uvloop/asyncio)", ("asyncio/", "uvloop", "uvicorn/")),
]


def part_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for part, needles in PARTS:
            if any(needle in frame for needle in needles):
                return part
    return "other"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count)))
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    stacks = load(args.profile)
    total = sum(n for _, n in stacks)
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    for frames, n in stacks:
        names = {f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0] + ")" for f in frames}
        for name in names:
            inclusive[name] += n
        own[frames[-1].rsplit(":", 1)[0] + ")"] += n
        parts[part_of(frames)] += n
    print(f"{args.profile.name}: {total} samples (busy time only)\n")
    print("share of samples by part (innermost matching frame)")
    for part, n in parts.most_common():
        print(f"  {100 * n / total:5.1f}%  {part}")
    print(f"\ntop {args.top} functions, inclusive")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print(f"\ntop {args.top} functions, self")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
