"""Reads the gateway's Server-Sent Events (GET /v1/executions/:id/events) as ExecutionStreamEvents whose ``type``
is the SSE event name: state, stdout, stderr and the final result. Comments (keep-alives) and unknown event names
are skipped; a stream that ends without a result is an error, never a silent end.

Internal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, cast

from ._parse import Shape
from .errors import UnexpectedResponseError
from .models import (
    STATUSES,
    Execution,
    ExecutionStreamEvent,
    ResultEvent,
    StateEvent,
    Status,
    StderrEvent,
    StdoutEvent,
)


def raw_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) pairs of an SSE text stream, per the subset of the format the gateway writes."""
    name = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def execution_events(lines: Iterable[str], path: str) -> Iterator[ExecutionStreamEvent]:
    """The execution's events in order; ends after the result."""
    for name, data in raw_events(lines):
        if name not in ("state", "stdout", "stderr", "result"):
            continue
        try:
            payload: Any = json.loads(data)
        except ValueError:
            message = f"GET {path}: event {name!r} does not carry JSON"
            raise UnexpectedResponseError(200, "unexpected_response", message) from None
        event = _event(name, payload, f"GET {path}: event {name!r}")
        yield event
        if isinstance(event, ResultEvent):
            return
    message = f"GET {path}: the event stream ended before the result"
    raise UnexpectedResponseError(200, "unexpected_response", message)


def _event(name: str, payload: Any, where: str) -> ExecutionStreamEvent:
    try:
        if name == "result":
            return ResultEvent(Execution.from_json(payload))
        shape = Shape(payload, "")
        if name == "state":
            return StateEvent(cast(Status, shape.one_of("status", STATUSES)))
        if name == "stdout":
            return StdoutEvent(shape.text("data"))
        return StderrEvent(shape.text("data"))
    except UnexpectedResponseError as error:
        raise UnexpectedResponseError(200, "unexpected_response", f"{where}: {error.message}") from None
