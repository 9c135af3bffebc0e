"""airlock_client: the Python client of Airlock, the sandboxed code-execution service for AI agents.

``Client`` (synchronous) and ``AsyncClient`` (asyncio) speak Airlock's REST API: run code and get the finished
execution, submit and follow its event stream, sessions whose interpreter state persists across cells, and
runtimes. Failures raise AirlockClientError subclasses carrying the gateway's code, field and retry_after.
Standard library only. Explicit exports.
"""

from .aio import AsyncClient
from .client import Client
from .errors import (
    AirlockClientError,
    AuthenticationError,
    ConflictError,
    FieldIssue,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnprocessableError,
)
from .files import InputFile, output_file_path, save_files
from .models import (
    OUTCOMES,
    CellException,
    CompileReport,
    Execution,
    ExecutionResult,
    ExecutionStreamEvent,
    Limits,
    Outcome,
    OutputFile,
    ResultEvent,
    Runtime,
    Session,
    StateEvent,
    Status,
    StderrEvent,
    StdoutEvent,
    Submitted,
    Template,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "OUTCOMES",
    "AirlockClientError",
    "AsyncClient",
    "AuthenticationError",
    "CellException",
    "CompileReport",
    "Client",
    "ConflictError",
    "Execution",
    "ExecutionResult",
    "FieldIssue",
    "ExecutionStreamEvent",
    "InputFile",
    "InvalidRequestError",
    "Limits",
    "NetworkError",
    "NotFoundError",
    "Outcome",
    "OutputFile",
    "PermissionDeniedError",
    "RateLimitError",
    "ResultEvent",
    "Runtime",
    "ServerError",
    "Session",
    "StateEvent",
    "Status",
    "StderrEvent",
    "StdoutEvent",
    "Submitted",
    "Template",
    "UnexpectedResponseError",
    "UnprocessableError",
    "Usage",
    "output_file_path",
    "save_files",
]
