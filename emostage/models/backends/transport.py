"""The HTTP transport of the server backends: every model call held to its `CallBound`.

httpx's timeouts bound each read, not a call: a server that trickles one line every few
seconds never trips them. These transports, given to the Ollama and OpenAI clients, check
the call's deadline and output cap on every chunk. A read that waits past the deadline is
ended: in the sync transport a watchdog shuts its socket, in the async one the read is
cancelled. Both note a 429's `Retry-After` for the retry. Outside a model call (a
preflight, say) they are plain httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import math
import socket
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from emostage.models.deadline import (
    SESSION_HEADER,
    CallBound,
    OutputCapError,
    current_call,
    session_key,
)


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
        _cut_timeouts(request, bound)
        try:
            response = self._inner.handle_request(request)
        except httpx.TimeoutException:
            if bound.expired():
                raise bound.timeout_error() from None
            raise
        return _bounded(response, bound, BoundedStream(response, bound))

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
                _check(received, bound)
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


class AsyncBoundedTransport(httpx.AsyncBaseTransport):
    """`BoundedTransport` for the async clients: a read past the deadline is cancelled.

    Connections belong to the event loop that opened them, and a process may run several
    loops in turn (each `asyncio.run`): each loop gets its own connection pool.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        """Wrap `inner`, for every loop (default: a pool of httpx's own per loop)."""
        self._inner = inner
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncBaseTransport]
        self._pools = weakref.WeakKeyDictionary()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; its waits are cut to what is left of the call's time."""
        loop = asyncio.get_running_loop()
        inner = self._inner or self._pools.get(loop)
        if inner is None:
            inner = self._pools[loop] = httpx.AsyncHTTPTransport()
        bound = current_call()
        if bound is None:
            return await inner.handle_async_request(request)
        _cut_timeouts(request, bound)
        try:
            response = await inner.handle_async_request(request)
        except httpx.TimeoutException:
            if bound.expired():
                raise bound.timeout_error() from None
            raise
        return _bounded(response, bound, AsyncBoundedStream(response, bound))

    async def aclose(self) -> None:
        """Close the connection pool of the running loop."""
        pool = self._inner or self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.aclose()


class AsyncBoundedStream(httpx.AsyncByteStream):
    """`BoundedStream` for the async transport."""

    def __init__(self, response: httpx.Response, bound: CallBound) -> None:
        """Read `response`'s body under `bound`."""
        self._response = response
        self._bound = bound

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The body's chunks, as they come, while the call has time and room."""
        bound = self._bound
        chunks = self._response.stream.__aiter__()  # type: ignore[union-attr]
        received = 0
        while True:
            try:
                async with asyncio.timeout(bound.remaining()):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise bound.timeout_error() from None
            received += len(chunk)
            _check(received, bound)
            yield chunk

    async def aclose(self) -> None:
        """Close the underlying body."""
        await self._response.aclose()


def _cut_timeouts(request: httpx.Request, bound: CallBound) -> None:
    """Cut `request`'s connect, read, write and pool timeouts to the call's time left.

    Also tag the request with the turn's session, for replica affinity.
    """
    if (session := session_key()) is not None:
        request.headers[SESSION_HEADER] = session
    if bound.expired():
        raise bound.timeout_error()
    left = bound.remaining()
    timeouts = request.extensions.get("timeout", {})
    request.extensions["timeout"] = {
        name: left if value is None else min(value, left) for name, value in timeouts.items()
    } or dict.fromkeys(("connect", "read", "write", "pool"), left)


def _bounded(
    response: httpx.Response, bound: CallBound, body: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    """`response` with `body` as its stream; a 429's `Retry-After` noted on `bound`."""
    if response.status_code == 429:
        bound.retry_after_s = retry_after(response.headers.get("retry-after"))
    return httpx.Response(
        status_code=response.status_code,
        headers=response.headers,
        stream=body,
        extensions=response.extensions,
    )


def _check(received: int, bound: CallBound) -> None:
    """Stop a body over the output cap, or past the deadline."""
    if received > bound.max_bytes:
        raise OutputCapError(
            f"reply over the output cap ({bound.max_bytes:,} bytes; the server ignored the "
            "token limit)"
        )
    if bound.expired():
        raise bound.timeout_error()


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
