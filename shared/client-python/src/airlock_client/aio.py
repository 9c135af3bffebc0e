"""AsyncClient: the asyncio client, with the same methods as Client, awaited. Each call runs the synchronous
client's call in a worker thread (asyncio.to_thread), so both share one HTTP implementation; an event stream is
read by a thread that hands events to the loop, and closing or cancelling the stream closes its connection.
Cancelling ``run`` cancels the execution on the server too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from .client import Client
from .errors import UnexpectedResponseError
from .models import Execution, ExecutionStreamEvent, ResultEvent

_END = object()
P = ParamSpec("P")
R = TypeVar("R")


def _in_thread(
    method: Callable[Concatenate[Client, P], R],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]:
    """The asynchronous twin of one of Client's calls: the same parameters, run in a worker thread."""

    async def call(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(lambda: method(self._sync, *args, **kwargs))

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


def _parameters_of(
    like: Callable[Concatenate[Client, P], object],
) -> Callable[[Callable[..., Coroutine[Any, Any, R]]], Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]]:
    """Declares that the decorated coroutine function takes exactly the parameters of Client's ``like``."""

    def declare(
        function: Callable[..., Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]:
        return function

    return declare


def _constructed_like(
    like: Callable[P, object],
) -> Callable[[Callable[..., None]], Callable[Concatenate[AsyncClient, P], None]]:
    """Declares that the decorated __init__ takes exactly the parameters of the class ``like``."""

    def declare(function: Callable[..., None]) -> Callable[Concatenate[AsyncClient, P], None]:
        return function

    return declare


class AsyncClient:
    """An asyncio client of one Airlock server; the arguments and methods are Client's."""

    @_constructed_like(Client)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sync = Client(*args, **kwargs)

    # --- executions ---

    submit = _in_thread(Client.submit)

    @_parameters_of(Client.submit)
    async def run(self, *args: Any, **kwargs: Any) -> Execution:
        """Submits the code and waits for the finished execution. Cancelling the task at any point cancels the
        execution once it exists."""
        pending = asyncio.ensure_future(self.submit(*args, **kwargs))
        try:
            # Shielded: a cancel while the submission is in flight still learns what the server accepted.
            submitted = await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.cancelled() and await asyncio.wait([pending]) and pending.exception() is None:
                await asyncio.to_thread(self._sync._cancel_quietly, pending.result().execution.id)
            raise
        if submitted.execution.status == "finished":
            return submitted.execution
        try:
            return await self.wait(submitted.execution.id)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(self._sync._cancel_quietly, submitted.execution.id))
            raise

    get = _in_thread(Client.get)

    async def stream(self, execution_id: str) -> AsyncGenerator[ExecutionStreamEvent, None]:
        """The execution's events as Client.stream gives them; closing the iterator closes the connection."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        lines, events = await asyncio.to_thread(self._sync._open_events, execution_id)

        def read() -> None:
            try:
                for event in events:
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as error:
                loop.call_soon_threadsafe(queue.put_nowait, error)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        reader = threading.Thread(target=read, name=f"airlock-events-{execution_id}", daemon=True)
        reader.start()
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield cast(ExecutionStreamEvent, item)
        finally:
            lines.close()  # unblocks the reader if it waits for the next line
            await asyncio.to_thread(reader.join)

    async def wait(self, execution_id: str) -> Execution:
        stream = self.stream(execution_id)
        try:
            async for event in stream:
                if isinstance(event, ResultEvent):
                    return event.execution
        finally:
            await stream.aclose()
        raise UnexpectedResponseError(200, "unexpected_response", f"execution {execution_id}: no result")

    cancel = _in_thread(Client.cancel)

    # --- runtimes ---

    runtimes = _in_thread(Client.runtimes)
    templates = _in_thread(Client.templates)

    # --- sessions ---

    create_session = _in_thread(Client.create_session)
    get_session = _in_thread(Client.get_session)
    update_session = _in_thread(Client.update_session)
    pause_session = _in_thread(Client.pause_session)
    resume_session = _in_thread(Client.resume_session)
    close_session = _in_thread(Client.close_session)
    run_cell = _in_thread(Client.run_cell)
