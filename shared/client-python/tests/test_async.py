"""AsyncClient against a real Airlock server: the same calls awaited, events as an async iterator, a session with
a chart, typed errors, and cancellation: cancelling run() cancels the execution, closing a stream closes it."""

from __future__ import annotations

import asyncio
import unittest

from airlock_client import AsyncClient, ConflictError, NotFoundError, ResultEvent, StateEvent, StdoutEvent

from .support import PNG_MAGIC, running_executions, server_url, settled_running_executions

FOREVER = "await new Promise((r) => setTimeout(r, 60_000))"


class AsyncClientTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.client = AsyncClient(server_url())

    async def test_run_and_stream(self) -> None:
        execution = await self.client.run("javascript", 'console.log("async", 6 * 7)')
        self.assertEqual((execution.outcome, execution.stdout, execution.exit_code), ("success", "async 42\n", 0))
        submitted = await self.client.submit("javascript", 'console.log("a"); await 0; console.log("b")')
        events = [event async for event in self.client.stream(submitted.execution.id)]
        self.assertEqual([e.status for e in events if isinstance(e, StateEvent)], ["queued", "running"])
        self.assertEqual("".join(e.data for e in events if isinstance(e, StdoutEvent)), "a\nb\n")
        self.assertIsInstance(events[-1], ResultEvent)
        self.assertEqual(await self.client.wait(submitted.execution.id), await self.client.get(submitted.execution.id))

    async def test_errors_are_typed(self) -> None:
        with self.assertRaises(NotFoundError) as missing:
            await self.client.get("ex_AAAAAAAAAAAAAAAAAAAAAA")
        self.assertEqual((missing.exception.status, missing.exception.code), (404, "execution_not_found"))
        with self.assertRaises(NotFoundError):
            async for _ in self.client.stream("ex_AAAAAAAAAAAAAAAAAAAAAA"):
                pass

    async def test_cancelling_run_cancels_the_execution(self) -> None:
        task = asyncio.create_task(self.client.run("javascript", FOREVER, limits={"wall_time_ms": 60_000}))
        for _ in range(600):
            if running_executions() > 0:
                break
            await asyncio.sleep(0.05)
        self.assertEqual(running_executions(), 1)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        self.assertEqual(settled_running_executions(), 0)

    async def test_closing_a_stream_early_leaves_the_execution_running(self) -> None:
        submitted = await self.client.submit("javascript", FOREVER, limits={"wall_time_ms": 60_000})
        stream = self.client.stream(submitted.execution.id)
        async for event in stream:
            if isinstance(event, StateEvent) and event.status == "running":
                break
        await stream.aclose()
        self.assertEqual((await self.client.get(submitted.execution.id)).status, "running")
        canceled = await self.client.cancel(submitted.execution.id)
        self.assertEqual(canceled.outcome, "canceled")

    async def test_a_session_with_a_chart(self) -> None:
        session = await self.client.create_session("python", backend="docker")
        try:
            await self.client.run_cell(session.id, "xs = list(range(10))")
            chart = await self.client.run_cell(
                session.id,
                "import matplotlib.pyplot as plt\nplt.bar(xs, [x * x for x in xs])\nplt.show()",
                limits={"wall_time_ms": 60_000},
            )
            self.assertEqual(chart.outcome, "success")
            self.assertEqual([image[:8] for image in chart.images], [PNG_MAGIC])
            self.assertEqual((await self.client.get_session(session.id)).cells, 2)
        finally:
            await self.client.close_session(session.id)
        with self.assertRaises(ConflictError) as closed:
            await self.client.run_cell(session.id, "xs")
        self.assertEqual(closed.exception.code, "session_closed")


if __name__ == "__main__":
    unittest.main()
