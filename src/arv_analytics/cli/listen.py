"""One listening socket per worker for `serve --workers N` (Linux).

uvicorn's supervisor binds one socket and every worker accepts from it. The kernel wakes the
worker that waited last, so long-lived connections (a reverse proxy's keepalive pool, a load
generator) do not split evenly: 33/21 and 29/20 of 50 were seen, once 50/0, and the busier
worker's queue sets the tail latency (docs/benchmarks.md, "Third pass"). With SO_REUSEPORT
every worker listens on a socket of its own at the same address and the kernel spreads new
connections over them by a hash of the connection's addresses.

The supervisor pickles the sockets it hands each worker it starts (again after a crash).
:class:`WorkerListener` stands in for that socket: unpickled in the worker, it becomes a new
socket bound with SO_REUSEPORT. It is bound, not listening: the worker's server calls
``listen()`` only after the app has started (asyncio's ``create_server``), so the kernel
queues no connection on a worker that is still loading.
"""

from __future__ import annotations

import socket
import sys


def per_worker_sockets_supported() -> bool:
    """Linux spreads connections over a SO_REUSEPORT group; other systems may not."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _bound(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def check_free(host: str, port: int) -> None:
    """Raises OSError (address in use) when anything listens there already: a socket with
    SO_REUSEPORT alone would join another server's group and share its traffic silently."""
    _bound(host, port, reuse_port=False).close()


def bind_reuse_port(host: str, port: int) -> socket.socket:
    return _bound(host, port, reuse_port=True)


class WorkerListener:
    """What the supervisor hands a worker in place of a socket (see the module doc)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        return bind_reuse_port, (self.host, self.port)
