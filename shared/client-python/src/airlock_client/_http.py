"""The HTTP layer of the client, on the standard library's http.client: one connection per call, the bearer
token on every request, JSON in and out, and every non-2xx answer raised as its AirlockClientError.

Internal. Thread-safe: it holds no connection between calls. Never puts the token into a message.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import AirlockClientError, NetworkError, UnexpectedResponseError, error_for


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def segment(value: str) -> str:
    """A path segment (an id) escaped for the URL."""
    return quote(value, safe="")


class Transport:
    def __init__(
        self, base_url: str, token: str | None, timeout: float, ssl_context: ssl.SSLContext | None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        if token is not None and (token == "" or any(c.isspace() for c in token)):
            raise ValueError("token must be a non-empty token without spaces")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._ssl = ssl_context

    def _connection(self, hold: float) -> http.client.HTTPConnection:
        timeout = self._timeout + hold
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str | int | float | None] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        accept: str,
        hold: float = 0.0,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        target = self._prefix + path
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urlencode(params)
        sent = {"accept": accept, **(headers or {})}
        if self._token is not None:
            sent["authorization"] = f"Bearer {self._token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        connection = self._connection(hold)
        try:
            connection.request(method, target, body=payload, headers=sent)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise NetworkError(0, "network_error", f"{method} {path}: {_reason(error)}") from error
        except BaseException:
            connection.close()
            raise

    def json(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | float | None] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        hold: float = 0.0,
    ) -> Answer:
        """Sends the request and decodes its JSON answer; raises the coded error for anything but 2xx. ``hold``:
        seconds the server may hold the answer on purpose (``?wait=``), on top of the timeout."""
        connection, response = self._send(method, path, query, body, headers, "application/json", hold)
        try:
            try:
                raw = response.read()
            except (OSError, http.client.HTTPException) as error:
                raise NetworkError(0, "network_error", f"{method} {path}: {_reason(error)}") from error
            try:
                decoded: Any = json.loads(raw) if raw else None
            except ValueError:
                decoded = None
                if 200 <= response.status < 300:
                    raise UnexpectedResponseError(
                        response.status, "unexpected_response", f"{method} {path}: the answer is not JSON"
                    ) from None
            if not 200 <= response.status < 300:
                raise error_for(response.status, decoded, f"{method} {path}")
            return Answer(response.status, decoded)
        finally:
            connection.close()

    def lines(self, path: str) -> EventLines:
        """Opens an event stream (GET, text/event-stream); raises the coded error for anything but 2xx."""
        connection, response = self._send("GET", path, None, None, None, "text/event-stream")
        if not 200 <= response.status < 300:
            try:
                raw = response.read()
                decoded: Any = json.loads(raw) if raw else None
            except (ValueError, OSError, http.client.HTTPException):
                decoded = None
            finally:
                connection.close()
            raise error_for(response.status, decoded, f"GET {path}")
        return EventLines(connection, response, path)


class EventLines:
    """The lines of an open event stream. ``close()`` may be called from another thread to stop a blocked read."""

    def __init__(
        self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse, path: str
    ) -> None:
        self._connection = connection
        self._response = response
        self._closed = False
        self.path = path

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                try:
                    line = self._response.readline()
                except (OSError, http.client.HTTPException, ValueError) as error:
                    if self._closed:
                        return
                    raise NetworkError(0, "network_error", f"GET {self.path}: {_reason(error)}") from error
                if not line:
                    return
                yield line.decode("utf-8").rstrip("\r\n")
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sock = self._connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._connection.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, AirlockClientError):
        return error.message
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
