"""What a connection must do to be served by ``visionplay serve``: name this server in its
``Host`` header, and send each request's headers and body in bounded time.

**Host (DNS rebinding).** A web page can point a name it controls at 127.0.0.1 and then use
a server on its visitor's machine as if it were its own site; the browser still sends that
name in ``Host``. :class:`AllowedHosts` serves a request only if its Host, port and case
aside, is

- ``localhost``, ``127.0.0.1`` or ``[::1]``;
- the ``--host`` the server listens on;
- when ``--host`` is a wildcard (``0.0.0.0``, ``::``): any IP address, since DNS cannot
  rebind an address, and this machine's own name (``socket.gethostname()``, its first
  label, and that label with ``.local``); other names people use for it (a DNS name, a
  proxy's) need ``--allowed-hosts``;
- one given to ``--allowed-hosts`` (repeatable, comma-separated): a name or address,
  ``*.domain`` for the names under ``domain``, or ``*`` for any Host, which switches the
  check off (behind a proxy that rewrites Host, as Jupyter's ``allow_remote_access``).

A request with no Host header (HTTP/1.0) passes: browsers always send one. Others are
answered 400 with one line naming the Host and ``--allowed-hosts``; a WebSocket is closed
before it opens. Gradio's tunnel (``--share``) serves Gradio's own app and has no such check.

**Slow clients.** uvicorn restarts its keep-alive timer on every byte it receives, so a
client sending a header line every few seconds holds a connection for as long as it likes.
:func:`deadline_protocol` gives ``uvicorn.Config(http=...)`` uvicorn's own HTTP protocol
with one timer per connection: a request's headers must arrive within :data:`HEADERS_S` of
the connection's start or of the end of the previous response, and its body within
:data:`BODY_S` of the end of its headers; past that the connection is closed, with a 408
if no answer had begun. Time the app spends answering is not bounded here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson  # Gradio's own dependency

from ..errors import InvalidInputError
from .uploads import refuse

HEADERS_S = 10.0  # for a request's headers, from the connection's start or the last answer
BODY_S = 60.0  # for its body, from the end of its headers

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_BINDS = ("", "0.0.0.0", "[::]")  # as host_name() writes them
SHOWN_CHARS = 40  # of a refused Host header, in the message


# --- Host -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostRule:
    """The Host headers a server answers: exact ``names`` (as :func:`host_name` writes
    them), names ending in one of ``domains`` (``.example.com``), any IP address if
    ``any_address``, anything at all if ``anything``."""

    names: frozenset[str]
    domains: tuple[str, ...] = ()
    any_address: bool = False
    anything: bool = False

    def allows(self, host: str) -> bool:
        if self.anything:
            return True
        name = host_name(host)
        if name in self.names or (self.domains and name.endswith(self.domains)):
            return True
        return self.any_address and is_address(name)


def host_rule(bind: str, allowed: Iterable[str] = ()) -> HostRule:
    """The rule for a server listening on ``bind`` (``--host``), with ``allowed`` the
    ``--allowed-hosts`` given (each may hold several, comma-separated). The module's
    docstring says what passes."""
    entries = [entry.strip() for item in allowed for entry in item.split(",") if entry.strip()]
    for entry in entries:
        if "/" in entry or any(char.isspace() for char in entry):
            raise InvalidInputError(f"--allowed-hosts takes host names, not {entry[:60]!r}")
    if "*" in entries:
        return HostRule(frozenset(), anything=True)
    wildcard = host_name(bind) in WILDCARD_BINDS
    names = {host_name(name) for name in (*LOOPBACK_NAMES, bind)}
    names |= {host_name(entry) for entry in entries if not entry.startswith("*.")}
    if wildcard:
        names |= own_names()
    domains = tuple(host_name(entry[1:]) for entry in entries if entry.startswith("*."))
    return HostRule(frozenset(names - {""}), domains, any_address=wildcard)


def host_name(value: str) -> str:
    """A Host header's name, lower case, with no port nor trailing dot; an IP address in
    its usual form, IPv6 in brackets (``[::1]``)."""
    value = value.strip().lower()
    if value.startswith("["):
        name = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # name:port; more colons: a bare IPv6 address
        name = value.partition(":")[0]
    else:
        name = value
    name = name.rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name
    return f"[{address}]" if address.version == 6 else str(address)


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def own_names() -> set[str]:
    """This machine's name as its network knows it, without asking DNS (that can stall)."""
    full = socket.gethostname().lower().rstrip(".")
    short = full.partition(".")[0]
    return {name for name in (full, short, f"{short}.local") if name and name != ".local"}


class AllowedHosts:
    """Plain ASGI middleware: a request whose Host ``rule`` refuses gets 400 (a WebSocket,
    a close) before the app sees it."""

    def __init__(self, app: Any, rule: HostRule) -> None:
        self.app, self.rule = app, rule

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket") and not self.rule.anything:
            host = next((v for k, v in scope.get("headers", ()) if k == b"host"), None)
            if host is not None and not self.rule.allows(host.decode("latin-1")):
                if scope["type"] == "websocket":  # before accept: uvicorn answers 403
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await refuse(send, 400, host_refused(host.decode("latin-1")))
                return
        await self.app(scope, receive, send)


def host_refused(host: str) -> str:
    shown = host if len(host) <= SHOWN_CHARS else host[:SHOWN_CHARS] + "..."
    return (
        f"refused: this server does not answer to Host {shown!r}; start it with "
        "--allowed-hosts NAME to allow it"
    )


# --- Slow clients -----------------------------------------------------------------------


def deadline_protocol(
    headers_s: float = HEADERS_S,
    body_s: float = BODY_S,
    parser: Literal["auto", "httptools", "h11"] = "auto",
) -> type[asyncio.Protocol]:
    """The HTTP protocol class for ``uvicorn.Config(http=...)``: the one uvicorn would pick
    (httptools where installed, else h11), with these deadlines for a request's headers and
    body."""
    limits = {"headers_s": headers_s, "body_s": body_s}
    if parser != "h11":
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        except ImportError:  # no httptools: uvicorn's own choice is h11 too
            if parser == "httptools":
                raise
        else:
            return type("HttpToolsDeadlines", (HttpToolsDeadlines, HttpToolsProtocol), limits)
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return type("H11Deadlines", (H11Deadlines, H11Protocol), limits)


class Deadline:
    """The timer, for a uvicorn HTTP protocol (its ``loop``, ``transport`` and ``cycle``)."""

    headers_s = HEADERS_S
    body_s = BODY_S
    deadline: asyncio.TimerHandle | None = None
    awaiting: str | None = None  # "headers" or "body": what the deadline is for
    heard = False  # bytes of the awaited request have come
    handed_over = False  # to the WebSocket protocol, which keeps the transport

    def await_headers(self) -> None:
        self.heard = False
        self.set_deadline("headers", self.headers_s)

    def set_deadline(self, awaiting: str, seconds: float) -> None:
        self.clear_deadline()
        if not self.handed_over:
            self.awaiting = awaiting
            self.deadline = self.loop.call_later(seconds, self.deadline_passed)

    def clear_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline, self.awaiting = None, None

    def deadline_passed(self) -> None:
        awaiting, seconds = self.awaiting, self.body_s
        if awaiting == "headers":
            seconds = self.headers_s
        self.deadline, self.awaiting = None, None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self.heard and (cycle is None or cycle.response_complete or not cycle.response_started):
            self.transport.write(timed_out(f"the request's {awaiting} took over {seconds:g} s"))
        self.transport.close()  # the app, if it was reading the body, sees a disconnect

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self.clear_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.heard = True
        super().data_received(data)


class HttpToolsDeadlines(Deadline):
    """For uvicorn's httptools protocol, whose parser calls back at each step."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.set_deadline("body", self.body_s)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            self.await_headers()  # answered before its body ended: now the next request
        else:
            self.clear_deadline()  # all in; the app's time is its own

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Pipelined requests already in are the app's; a body still coming keeps its deadline.
        if not (self.transport.is_closing() or self.pipeline or self.cycle.more_body):
            self.await_headers()

    def handle_websocket_upgrade(self) -> None:
        self.clear_deadline()
        self.handed_over = True
        super().handle_websocket_upgrade()


class H11Deadlines(Deadline):
    """For uvicorn's h11 protocol: the deadline follows h11's state of the client's side
    after each read and each response."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.follow()

    def handle_websocket_upgrade(self, event) -> None:
        self.clear_deadline()
        self.handed_over = True
        super().handle_websocket_upgrade(event)

    def follow(self) -> None:
        import h11

        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.awaiting != "headers":
                self.await_headers()
        elif state is h11.SEND_BODY:
            if self.awaiting != "body":
                self.set_deadline("body", self.body_s)
        else:  # the whole request is in (or the connection is ending)
            self.clear_deadline()


def timed_out(message: str) -> bytes:
    body = orjson.dumps({"detail": message})
    return (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
    )
