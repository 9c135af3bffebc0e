"""AsyncClient: the asyncio client, with the same methods as Client, awaited. Each call runs the synchronous
client's call in a worker thread (asyncio.to_thread), so both share one HTTP implementation; an event stream is
read by a thread that hands events to the loop, and closing or cancelling the stream closes its connection.
Cancelling ``run`` cancels the execution on the server too.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, cast

from .client import DEFAULT_TIMEOUT, Client, FileLike
from .errors import UnexpectedResponseError
from .models import Execution, ExecutionStreamEvent, ResultEvent, Runtime, Session, Submitted

_END = object()


class AsyncClient:
    """An asyncio client of one Airlock server; the arguments and methods are Client's."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._sync = Client(base_url, token, timeout=timeout, ssl_context=ssl_context)

    # --- executions ---

    async def submit(
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
        return await asyncio.to_thread(
            self._sync.submit,
            language,
            code,
            files=files,
            stdin=stdin,
            args=args,
            env=env,
            limits=limits,
            backend=backend,
            network=network,
            metadata=metadata,
            wait=wait,
            idempotency_key=idempotency_key,
        )

    async def run(
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
    ) -> Execution:
        """Submits the code and waits for the finished execution. Cancelling the task at any point cancels the
        execution once it exists."""
        pending = asyncio.ensure_future(
            self.submit(
                language,
                code,
                files=files,
                stdin=stdin,
                args=args,
                env=env,
                limits=limits,
                backend=backend,
                network=network,
                metadata=metadata,
            )
        )
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

    async def get(self, execution_id: str) -> Execution:
        return await asyncio.to_thread(self._sync.get, execution_id)

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

    async def cancel(self, execution_id: str) -> Execution:
        return await asyncio.to_thread(self._sync.cancel, execution_id)

    # --- runtimes ---

    async def runtimes(self) -> list[Runtime]:
        return await asyncio.to_thread(self._sync.runtimes)

    # --- sessions ---

    async def create_session(
        self,
        language: str,
        *,
        backend: str | None = None,
        limits: Mapping[str, int] | None = None,
        idle_timeout_seconds: int | None = None,
        max_lifetime_seconds: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Session:
        return await asyncio.to_thread(
            self._sync.create_session,
            language,
            backend=backend,
            limits=limits,
            idle_timeout_seconds=idle_timeout_seconds,
            max_lifetime_seconds=max_lifetime_seconds,
            metadata=metadata,
        )

    async def get_session(self, session_id: str) -> Session:
        return await asyncio.to_thread(self._sync.get_session, session_id)

    async def close_session(self, session_id: str) -> Session:
        return await asyncio.to_thread(self._sync.close_session, session_id)

    async def run_cell(
        self,
        session_id: str,
        code: str,
        *,
        files: Sequence[FileLike] | None = None,
        stdin: str | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> Execution:
        return await asyncio.to_thread(
            self._sync.run_cell, session_id, code, files=files, stdin=stdin, limits=limits
        )
