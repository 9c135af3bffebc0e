"""Client: the synchronous client of the Airlock REST API — executions (run, submit, get, wait, stream, cancel),
sessions (create, get, close, run a cell) and runtimes. Every answer is checked and returned as a typed object;
every failure raises an AirlockClientError. Holds no connection between calls: safe to share between threads.
"""

from __future__ import annotations

import ssl
import threading
from contextlib import closing
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from ._http import Answer, EventLines, Transport, segment
from ._parse import Shape
from ._sse import execution_events
from .errors import UnexpectedResponseError
from .files import InputFile
from .models import Execution, ExecutionStreamEvent, ResultEvent, Runtime, Session, Submitted, Template

FileLike = InputFile | Mapping[str, str]
T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

DEFAULT_TIMEOUT = 60.0
"""Seconds a connect, a request or a silent event stream may take (the gateway sends keep-alives every 15 s)."""


def _files(files: Sequence[FileLike] | None) -> list[dict[str, Any]] | None:
    if files is None:
        return None
    return [f.to_json() if isinstance(f, InputFile) else dict(f) for f in files]


def _compact(**fields: Any) -> dict[str, Any]:
    """The request body: fields left as None are left out (the server applies its defaults)."""
    return {name: value for name, value in fields.items() if value is not None}


def same_parameters_as(like: Callable[P, object]) -> Callable[[Callable[..., R]], Callable[P, R]]:
    """Declares that the decorated function takes exactly the parameters of ``like`` (and passes them on)."""

    def declare(function: Callable[..., R]) -> Callable[P, R]:
        return function

    return declare


def _checked(answer: Answer, what: str, parse: Callable[[Any], T]) -> T:
    try:
        return parse(answer.body)
    except UnexpectedResponseError as error:
        raise UnexpectedResponseError(answer.status, error.code, f"{what}: {error.message}") from None


class Client:
    """A client of one Airlock server.

    ``base_url`` is where the gateway answers (``http://127.0.0.1:8080``; a path prefix is kept); ``token`` is the
    intent token sent as ``Authorization: Bearer …`` (leave it out for a server in local development mode).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._http = Transport(base_url, token, timeout, ssl_context)

    # --- executions ---

    def submit(
        self,
        language: str,
        code: str,
        *,
        files: Sequence[FileLike] | None = None,
        stdin: str | None = None,
        args: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        limits: Mapping[str, int] | None = None,
        backend: str | None = None,
        network: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> Submitted:
        """POST /v1/executions. Without ``wait`` the execution is usually still queued; with it the gateway holds
        the answer up to ``wait`` seconds (at most its own maximum) until the execution finishes."""
        body = _compact(
            language=language,
            code=code,
            files=_files(files),
            stdin=stdin,
            args=None if args is None else list(args),
            env=None if env is None else dict(env),
            limits=None if limits is None else dict(limits),
            backend=backend,
            network=None if network is None else dict(network),
            metadata=None if metadata is None else dict(metadata),
        )
        headers = {} if idempotency_key is None else {"idempotency-key": idempotency_key}
        answer = self._http.json(
            "POST", "/v1/executions", query={"wait": wait}, body=body, headers=headers, hold=wait or 0.0
        )
        execution = _checked(answer, "POST /v1/executions", Execution.from_json)
        return Submitted(execution, answer.status != 200)

    @same_parameters_as(submit)
    def run(self, *args: Any, **kwargs: Any) -> Execution:
        """Takes submit's arguments, submits the code and waits for the finished execution (following its event
        stream). An interrupt (KeyboardInterrupt) at any point cancels the execution once it exists."""
        answer: list[Submitted | BaseException] = []
        done = threading.Event()

        def submit() -> None:
            try:
                answer.append(self.submit(*args, **kwargs))
            except BaseException as error:
                answer.append(error)
            finally:
                done.set()

        # The submission runs in a thread, so an interrupt that arrives while it is in flight still learns the id
        # of what the server accepted (the request is short) and cancels it.
        threading.Thread(target=submit, name="airlock-submit", daemon=True).start()
        try:
            done.wait()
        except KeyboardInterrupt:
            done.wait()
            if isinstance(answer[0], Submitted):
                self._cancel_quietly(answer[0].execution.id)
            raise
        if isinstance(answer[0], BaseException):
            raise answer[0]
        submitted = answer[0]
        if submitted.execution.status == "finished":
            return submitted.execution
        try:
            return self.wait(submitted.execution.id)
        except KeyboardInterrupt:
            self._cancel_quietly(submitted.execution.id)
            raise

    def get(self, execution_id: str) -> Execution:
        """GET /v1/executions/:id."""
        path = f"/v1/executions/{segment(execution_id)}"
        return _checked(self._http.json("GET", path), f"GET {path}", Execution.from_json)

    def stream(self, execution_id: str) -> Generator[ExecutionStreamEvent, None, None]:
        """The execution's events as they happen, named as the gateway's SSE events: state, stdout and stderr
        chunks, and the result (the finished execution). A late reader first gets what it missed. Ends after the
        result; closing the iterator early closes the connection."""
        lines, events = self._open_events(execution_id)
        try:
            yield from events
        finally:
            lines.close()

    def _open_events(self, execution_id: str) -> tuple[EventLines, Iterator[ExecutionStreamEvent]]:
        """Opens the event stream: its lines (``close()`` works from any thread) and the events read from them."""
        path = f"/v1/executions/{segment(execution_id)}/events"
        lines = self._http.lines(path)
        return lines, execution_events(lines, path)

    def wait(self, execution_id: str) -> Execution:
        """Waits for the execution to finish (following its event stream) and returns it."""
        with closing(self.stream(execution_id)) as events:
            for event in events:
                if isinstance(event, ResultEvent):
                    return event.execution
        raise UnexpectedResponseError(200, "unexpected_response", f"execution {execution_id}: no result")

    def cancel(self, execution_id: str) -> Execution:
        """DELETE /v1/executions/:id: the execution, now canceled; ConflictError if it had finished."""
        path = f"/v1/executions/{segment(execution_id)}"
        return _checked(self._http.json("DELETE", path), f"DELETE {path}", Execution.from_json)

    def _cancel_quietly(self, execution_id: str) -> None:
        try:
            self.cancel(execution_id)
        except Exception:
            pass  # the interrupt that led here is what the caller sees

    # --- runtimes ---

    def runtimes(self) -> list[Runtime]:
        """GET /v1/runtimes: the languages and backends the server can run."""

        def parse(body: Any) -> list[Runtime]:
            return [Runtime.from_json(r) for r in Shape(body, "").children("runtimes")]

        return _checked(self._http.json("GET", "/v1/runtimes"), "GET /v1/runtimes", parse)

    def templates(self, language: str | None = None) -> list[Template]:
        """GET /v1/templates: the templates a run or session may name (``template``), with their state; ``language``
        narrows the list to those serving it."""

        def parse(body: Any) -> list[Template]:
            return [Template.from_json(t) for t in Shape(body, "").children("templates")]

        path = "/v1/templates" if language is None else f"/v1/templates?language={segment(language)}"
        return _checked(self._http.json("GET", path), "GET /v1/templates", parse)

    # --- sessions ---

    def create_session(
        self,
        language: str,
        *,
        backend: str | None = None,
        limits: Mapping[str, int] | None = None,
        idle_timeout_seconds: int | None = None,
        max_lifetime_seconds: int | None = None,
        metadata: Mapping[str, str] | None = None,
        on_idle: str | None = None,
        resume_on_worker_loss: bool | None = None,
    ) -> Session:
        """POST /v1/sessions: a ready session (a live interpreter whose state persists across cells). ``on_idle``
        ``"pause"`` pauses it at its idle timeout instead of closing it (python on gvisor; elsewhere 422
        snapshot_unsupported). ``resume_on_worker_loss`` (servers on NATS): a session whose worker is lost resumes
        on another from its latest snapshot, as of that snapshot, instead of ending ``worker_lost``."""
        body = _compact(
            language=language,
            backend=backend,
            limits=None if limits is None else dict(limits),
            idle_timeout_seconds=idle_timeout_seconds,
            max_lifetime_seconds=max_lifetime_seconds,
            metadata=None if metadata is None else dict(metadata),
            on_idle=on_idle,
            resume_on_worker_loss=resume_on_worker_loss,
        )
        return _checked(self._http.json("POST", "/v1/sessions", body=body), "POST /v1/sessions", Session.from_json)

    def get_session(self, session_id: str) -> Session:
        """GET /v1/sessions/:id (also a closed one, while the server retains it)."""
        path = f"/v1/sessions/{segment(session_id)}"
        return _checked(self._http.json("GET", path), f"GET {path}", Session.from_json)

    def update_session(
        self,
        session_id: str,
        *,
        idle_timeout_seconds: int | None = None,
        max_lifetime_seconds: int | None = None,
    ) -> Session:
        """PATCH /v1/sessions/:id: a new idle timeout and/or lifetime (from its creation), within the ceilings."""
        path = f"/v1/sessions/{segment(session_id)}"
        body = _compact(idle_timeout_seconds=idle_timeout_seconds, max_lifetime_seconds=max_lifetime_seconds)
        return _checked(self._http.json("PATCH", path, body=body), f"PATCH {path}", Session.from_json)

    def pause_session(self, session_id: str) -> Session:
        """POST /v1/sessions/:id/pause: snapshots the session and frees its sandbox (status paused)."""
        path = f"/v1/sessions/{segment(session_id)}/pause"
        return _checked(self._http.json("POST", path), f"POST {path}", Session.from_json)

    def resume_session(self, session_id: str) -> Session:
        """POST /v1/sessions/:id/resume: restores a paused session (its next cell would too)."""
        path = f"/v1/sessions/{segment(session_id)}/resume"
        return _checked(self._http.json("POST", path), f"POST {path}", Session.from_json)

    def close_session(self, session_id: str) -> Session:
        """DELETE /v1/sessions/:id: the session, closed with reason deleted; its sandbox is gone."""
        path = f"/v1/sessions/{segment(session_id)}"
        return _checked(self._http.json("DELETE", path), f"DELETE {path}", Session.from_json)

    def run_cell(
        self,
        session_id: str,
        code: str,
        *,
        files: Sequence[FileLike] | None = None,
        stdin: str | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> Execution:
        """POST /v1/sessions/:id/executions: runs one cell and returns its finished execution (with session_id)."""
        path = f"/v1/sessions/{segment(session_id)}/executions"
        body = _compact(
            code=code, files=_files(files), stdin=stdin, limits=None if limits is None else dict(limits)
        )
        return _checked(self._http.json("POST", path, body=body), f"POST {path}", Execution.from_json)
