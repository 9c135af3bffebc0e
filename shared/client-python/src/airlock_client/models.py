"""What Airlock answers with, as typed, immutable objects: executions and their results, sessions, runtimes, and
the events of an execution's stream. Built from the JSON by ``from_json``, which checks the shape and raises
UnexpectedResponseError naming the first field that does not fit. Field names are the API's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal, Union, cast

from ._parse import Decoded, Shape, decode, string_map, wrong

Status = Literal["queued", "running", "finished"]
Outcome = Literal[
    "success", "error", "timeout", "memory_limit", "output_limit", "compile_error", "canceled", "rejected",
    "internal_error",
]
SessionStatus = Literal["ready", "busy", "paused", "closed"]

STATUSES: tuple[str, ...] = ("queued", "running", "finished")
OUTCOMES: tuple[str, ...] = (
    "success", "error", "timeout", "memory_limit", "output_limit", "compile_error", "canceled", "rejected",
    "internal_error",
)
SESSION_STATUSES: tuple[str, ...] = ("ready", "busy", "paused", "closed")
SESSION_ON_IDLE: tuple[str, ...] = ("pause", "close")


@dataclass(frozen=True)
class Limits(Decoded):
    wall_time_ms: int
    cpu_time_ms: int
    memory_mb: int
    output_bytes: int


@dataclass(frozen=True)
class Usage(Decoded):
    cpu_ms: float | None
    wall_ms: float
    memory_peak_bytes: float | None


@dataclass(frozen=True)
class OutputFile:
    """A file the program left under ``out/``; ``content`` holds its bytes."""

    path: str
    size: int
    content: bytes = field(repr=False)

    def text(self, encoding: str = "utf-8") -> str:
        return self.content.decode(encoding)

    @staticmethod
    def from_json(shape: Shape) -> OutputFile:
        shape.one_of("encoding", ("base64",))
        try:
            content = base64.b64decode(shape.text("content"), validate=True)
        except ValueError as error:
            raise wrong(f"{shape.path}.content", "base64", "text that is not") from error
        return OutputFile(shape.text("path"), shape.integer("size"), content)


@dataclass(frozen=True)
class CellException(Decoded):
    """An exception a session cell raised and did not catch."""

    name: str
    message: str
    traceback: str


@dataclass(frozen=True)
class CompileReport(Decoded):
    """The compile step of a compiled language's run (``result.compile``)."""

    exit_code: int | None
    stdout: str
    stderr: str
    wall_ms: int


@dataclass(frozen=True)
class ExecutionResult:
    outcome: Outcome
    exit_code: int | None
    signal: str | None
    stdout: str
    stderr: str
    truncated_stdout: bool
    truncated_stderr: bool
    usage: Usage
    reason: str | None
    """Why the execution ended as it did, for every outcome but success and error."""
    files: list[OutputFile]
    display: list[dict[str, str]]
    """Session cells: display() outputs and figures, as MIME bundles (``image/png`` is base64 text)."""
    value: dict[str, str] | None
    """Session cells: the last expression's value as a MIME bundle, or None."""
    exception: CellException | None
    egress: list[dict[str, Any]]
    compile: CompileReport | None
    """Compiled languages: the compile step (None when the run had none)."""
    matched: bool | None
    """With ``expected_output``: whether stdout matched it (None when none was given)."""

    @staticmethod
    def from_json(shape: Shape) -> ExecutionResult:
        truncated = shape.child("truncated")
        value = shape.value.get("value")
        exception = shape.optional_child("exception")
        compiled = shape.optional_child("compile")
        matched = shape.value.get("matched")
        return ExecutionResult(
            outcome=cast(Outcome, shape.one_of("outcome", OUTCOMES)),
            exit_code=shape.optional_integer("exit_code"),
            signal=shape.optional_text("signal"),
            stdout=shape.text("stdout"),
            stderr=shape.text("stderr"),
            truncated_stdout=truncated.boolean("stdout"),
            truncated_stderr=truncated.boolean("stderr"),
            usage=Usage.from_json(shape.child("usage")),
            reason=shape.optional_text("reason"),
            files=[OutputFile.from_json(f) for f in shape.children("files", optional=True)],
            display=[_bundle(item) for item in shape.children("display", optional=True)],
            value=None if value is None else _bundle(shape.child("value")),
            exception=None if exception is None else CellException.from_json(exception),
            egress=[item.value for item in shape.children("egress", optional=True)],
            compile=None if compiled is None else CompileReport.from_json(compiled),
            matched=None if matched is None else shape.boolean("matched"),
        )


def _bundle(shape: Shape) -> dict[str, str]:
    return string_map(shape.value, shape.path)


def _limits(shape: Shape) -> Limits:
    return Limits.from_json(shape.child("limits"))


@dataclass(frozen=True)
class Execution:
    """One execution (a one-shot run or a session cell). ``result`` is None until it has finished."""

    id: str
    tenant: str
    status: Status
    language: str
    backend: str
    limits: Limits
    metadata: dict[str, str]
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: ExecutionResult | None
    session_id: str | None
    template: str | None
    """The template it ran in, or None for the language default."""
    raw: dict[str, Any] = field(repr=False, compare=False)
    """The execution as the server sent it (fields this client does not know yet included)."""

    @property
    def outcome(self) -> Outcome | None:
        return None if self.result is None else self.result.outcome

    @property
    def stdout(self) -> str:
        return "" if self.result is None else self.result.stdout

    @property
    def stderr(self) -> str:
        return "" if self.result is None else self.result.stderr

    @property
    def exit_code(self) -> int | None:
        return None if self.result is None else self.result.exit_code

    @property
    def files(self) -> list[OutputFile]:
        return [] if self.result is None else self.result.files

    @property
    def images(self) -> list[bytes]:
        """The PNG images of a session cell: its display outputs, then its value."""
        if self.result is None:
            return []
        bundles = [*self.result.display, *([self.result.value] if self.result.value else [])]
        return [base64.b64decode(b["image/png"]) for b in bundles if "image/png" in b]

    @staticmethod
    def from_json(value: Any, path: str = "") -> Execution:
        shape = Shape(value, path)
        result = shape.optional_child("result")
        return decode(
            Execution,
            shape,
            status=lambda s: s.one_of("status", STATUSES),
            limits=_limits,
            result=lambda _: None if result is None else ExecutionResult.from_json(result),
            raw=lambda s: s.value,
        )


@dataclass(frozen=True)
class Submitted:
    """A submission's answer: ``created`` is False when an idempotency key replayed an earlier execution."""

    execution: Execution
    created: bool


@dataclass(frozen=True)
class Session:
    """A live interpreter whose state persists across cells."""

    id: str
    tenant: str
    language: str
    backend: str
    status: SessionStatus
    limits: Limits
    created_at: str
    last_used_at: str
    expires_at: str
    cells: int
    closed_at: str | None
    closed_reason: str | None
    metadata: dict[str, str]
    template: str | None
    on_idle: str = "close"
    """What its idle timeout does: ``pause`` (a snapshot; the next cell resumes it) or ``close``."""

    @staticmethod
    def from_json(value: Any) -> Session:
        shape = Shape(value, "")
        return decode(
            Session,
            shape,
            status=lambda s: s.one_of("status", SESSION_STATUSES),
            limits=_limits,
            on_idle=lambda s: "close" if s.value.get("on_idle") is None else s.one_of("on_idle", SESSION_ON_IDLE),
        )


@dataclass(frozen=True)
class Runtime(Decoded):
    language: str
    backend: str
    version: str
    available: bool
    reason: str | None
    template: str | None = None
    """The template serving the language on this backend by default (None for the isolate, or an older server)."""


TEMPLATE_STATES = ("ready", "building", "failed", "missing")


@dataclass(frozen=True)
class Template:
    """A template (an environment a run or session may name with ``template``), as GET /v1/templates lists it."""

    name: str
    description: str | None
    languages: list[str]
    packages: dict[str, str]
    """Installed package → version, as read from the built image."""
    size_bytes: float | None
    hash: str | None
    state: str
    """ready, building, failed or missing: only a ready one runs."""
    reason: str | None
    """Why it cannot be used, when it is not ready."""
    builtin: bool
    workers: list[str] | None = None
    """NATS mode: the live workers that have it ready; None in the embedded mode."""

    @staticmethod
    def from_json(shape: Shape) -> Template:
        languages = shape.value.get("languages")
        workers = shape.value.get("workers")
        return Template(
            name=shape.text("name"),
            description=shape.optional_text("description"),
            languages=[str(language) for language in (languages if isinstance(languages, list) else [])],
            packages=shape.strings("packages"),
            size_bytes=shape.optional_number("size_bytes"),
            hash=shape.optional_text("hash"),
            state=shape.one_of("state", TEMPLATE_STATES),
            reason=shape.optional_text("reason"),
            builtin=shape.boolean("builtin"),
            workers=[str(worker) for worker in workers] if isinstance(workers, list) else None,
        )


# --- the execution's event stream: `type` is the SSE event name ---


@dataclass(frozen=True)
class StateEvent:
    status: Status
    type: Literal["state"] = "state"


@dataclass(frozen=True)
class _OutputEvent:
    """A chunk of the program's output, as it was written."""

    data: str


@dataclass(frozen=True)
class StdoutEvent(_OutputEvent):
    type: Literal["stdout"] = "stdout"


@dataclass(frozen=True)
class StderrEvent(_OutputEvent):
    type: Literal["stderr"] = "stderr"


@dataclass(frozen=True)
class ResultEvent:
    execution: Execution
    type: Literal["result"] = "result"


ExecutionStreamEvent = Union[StateEvent, StdoutEvent, StderrEvent, ResultEvent]
