"""The HTTP transport of the server backends: every model call held to its `CallBound`.

httpx's timeouts bound each read, not a call: a server that trickles one line every few
seconds never trips them. This transport, given to the Ollama and OpenAI clients, checks
the call's deadline and output cap on every chunk, and a watchdog shuts the socket when
the deadline passes while a read waits. It also notes a 429's `Retry-After` for the retry.
Outside a model call (a preflight, say) it is plain httpx.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from emostage.deadline import CallBound, OutputCapError, current_call


class BoundedTransport(httpx.BaseTransport):
    """An httpx transport that ends a model call at its deadline or output cap."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        """Wrap `inner` (default: httpx's own transport)."""
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; its waits are cut to what is left of the call's time."""
        bound = current_call()
        if bound is None:
            return self._inner.handle_request(request)
        if bound.expired():
            raise bound.timeout_error()
        left = bound.remaining()
        timeouts = request.extensions.get("timeout", {})
        request.extensions["timeout"] = {
            name: left if value is None else min(value, left) for name, value in timeouts.items()
        } or dict.fromkeys(("connect", "read", "write", "pool"), left)
        try:
            response = self._inner.handle_request(request)
        except httpx.TimeoutException:
            if bound.expired():
                raise bound.timeout_error() from None
            raise
        if response.status_code == 429:
            bound.retry_after_s = retry_after(response.headers.get("retry-after"))
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=BoundedStream(response, bound),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class BoundedStream(httpx.SyncByteStream):
    """A response body that stops at the call's deadline or past its output cap."""

    def __init__(self, response: httpx.Response, bound: CallBound) -> None:
        """Read `response`'s body under `bound`."""
        self._response = response
        self._bound = bound

    def __iter__(self) -> Iterator[bytes]:
        """The body's chunks, as they come, while the call has time and room."""
        bound = self._bound
        watchdog = threading.Timer(bound.remaining(), self._cut)
        watchdog.daemon = True
        watchdog.start()
        received = 0
        try:
            for chunk in self._response.stream:  # type: ignore[union-attr]
                received += len(chunk)
                if received > bound.max_bytes:
                    raise OutputCapError(
                        f"reply over the output cap ({bound.max_bytes:,} bytes; the server "
                        "ignored the token limit)"
                    )
                if bound.expired():
                    raise bound.timeout_error()
                yield chunk
        except httpx.TransportError:
            if bound.expired():  # the watchdog cut a read that waited past the deadline
                raise bound.timeout_error() from None
            raise
        finally:
            watchdog.cancel()

    def close(self) -> None:
        """Close the underlying body."""
        self._response.close()

    def _cut(self) -> None:
        """Wake a read that waits past the deadline: shut its socket."""
        network = self._response.extensions.get("network_stream")
        sock: Any = network.get_extra_info("socket") if network is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: the read has ended anyway
                sock.shutdown(socket.SHUT_RDWR)


def retry_after(value: str | None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def one_line(detail: object, limit: int = 160) -> str:
    """A server's error text as one short line: an HTML page is not a message."""
    text = str(detail).strip()
    if text.lstrip().startswith("<"):
        return "an HTML page, not a model server's error"
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
