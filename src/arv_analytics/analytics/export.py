"""CSV and ZIP forms of answers. The ZIP is written file by file into a stream (data
descriptors, no seeking), so an export of any size never sits in memory whole."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from arv_analytics.analytics.engine import Result
from arv_analytics.analytics.query import Query


def header(q: Query, result: Result) -> list[str]:
    dims = list(result.rows[0].dimensions) if result.rows else _dim_names(q)
    cols = [*dims]
    for name in q.dimensions:
        if name in ("company", "project", "content"):
            cols.append(f"{name}_name")
    cols += list(q.metrics)
    if q.comparison:
        cols += [f"{m}_previous" for m in q.metrics] + [f"{m}_change_pct" for m in q.metrics]
    return cols


def _dim_names(q: Query) -> list[str]:
    return ([f"time:{q.time}"] if q.time else []) + list(q.dimensions)


def lines(q: Query, result: Result) -> Iterator[list[Any]]:
    yield header(q, result)
    for row in result.rows:
        values: list[Any] = list(row.dimensions.values())
        for name in q.dimensions:
            if name in ("company", "project", "content"):
                values.append(row.labels.get(name, ""))
        values += [row.metrics[m] for m in q.metrics]
        if q.comparison:
            values += [(row.comparison or {}).get(m) for m in q.metrics]
            values += [(row.change or {}).get(m) for m in q.metrics]
        yield ["" if v is None else v for v in values]


def csv_chunks(rows: Iterable[list[Any]], every: int = 500) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken out as they are produced."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


async def zip_stream(files: AsyncIterator[tuple[str, Iterable[list[Any]]]]) -> AsyncIterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        async for name, rows in files:
            with archive.open(name, mode="w", force_zip64=True) as member:
                for chunk in csv_chunks(rows):
                    member.write(chunk.encode())
                    data = sink.take()
                    if data:
                        yield data
            data = sink.take()
            if data:
                yield data
    yield sink.take()
