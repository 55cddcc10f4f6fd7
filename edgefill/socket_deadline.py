"""One deadline for a whole exchange on a socket.

A socket timeout bounds each receive alone: a peer that sends a byte at a time, each just inside
it, holds a reader for as long as it likes (a preview client trickling its request headers, a
camera trickling its answer or a chunked stream's chunk sizes). :class:`SocketDeadline` shuts
the socket down when its deadline passes, unless cancelled first: the blocked read then returns,
and :attr:`SocketDeadline.expired` says why. The socket is useless afterwards.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class SocketDeadline:
    """Shut ``sock`` down ``seconds`` from now unless :meth:`cancel` comes first (a context
    manager that cancels at the end of its block)."""

    def __init__(self, sock: socket.socket, seconds: float):
        self._sock = sock
        self._lock = threading.Lock()
        self._cancelled = False
        self.expired = False
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:  # a cancel() that came first wins: the exchange ended in time
            if self._cancelled:
                return
            self.expired = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
        self._timer.cancel()

    def __enter__(self) -> SocketDeadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
