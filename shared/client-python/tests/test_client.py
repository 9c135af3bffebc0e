"""Client (synchronous) against a real Airlock server: run, submit, stream, cancel, idempotency, runtimes, files in
and out, a python session with a chart, and every failure as its typed exception."""

from __future__ import annotations

import signal
import tempfile
import threading
import time
import unittest
from pathlib import Path

from airlock_client import (
    Client,
    ConflictError,
    InputFile,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    ResultEvent,
    StateEvent,
    StderrEvent,
    StdoutEvent,
    save_files,
)

from .support import PNG_MAGIC, closed_port, running_executions, server_url, settled_running_executions


class ExecutionsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = Client(server_url())

    def test_run_returns_the_finished_execution(self) -> None:
        execution = self.client.run("javascript", 'console.log(6 * 7); console.error("careful")')
        self.assertEqual(execution.status, "finished")
        self.assertEqual(execution.outcome, "success")
        self.assertEqual(execution.stdout, "42\n")
        self.assertEqual(execution.stderr, "careful\n")
        self.assertEqual(execution.exit_code, 0)
        self.assertEqual(execution.files, [])
        self.assertEqual((execution.language, execution.backend, execution.tenant), ("javascript", "isolate", "local"))
        self.assertEqual(self.client.get(execution.id), execution)

    def test_run_takes_files_stdin_args_env_and_limits(self) -> None:
        code = 'console.log(airlock.readFile("in/a.txt", "utf8"), airlock.stdin, airlock.args, airlock.env.WHO)'
        execution = self.client.run(
            "javascript",
            code,
            files=[InputFile.text("in/a.txt", "text"), {"path": "b.bin", "content": "AP8=", "encoding": "base64"}],
            stdin="input",
            args=["x"],
            env={"WHO": "me"},
            limits={"wall_time_ms": 5000},
        )
        self.assertEqual(execution.stdout, "text input [ 'x' ] me\n")
        self.assertEqual(execution.limits.wall_time_ms, 5000)

    def test_stream_yields_events_named_as_the_sse_events(self) -> None:
        submitted = self.client.submit(
            "typescript",
            'for (let i = 0; i < 3; i++) { console.log("tick " + i); await new Promise((r) => setTimeout(r, 50)); }'
            '\nconsole.error("done")',
        )
        self.assertTrue(submitted.created)
        self.assertIn(submitted.execution.status, ("queued", "running"))
        events = list(self.client.stream(submitted.execution.id))
        self.assertEqual([e.status for e in events if isinstance(e, StateEvent)], ["queued", "running"])
        self.assertEqual("".join(e.data for e in events if isinstance(e, StdoutEvent)), "tick 0\ntick 1\ntick 2\n")
        self.assertEqual("".join(e.data for e in events if isinstance(e, StderrEvent)), "done\n")
        self.assertEqual({e.type for e in events}, {"state", "stdout", "stderr", "result"})
        last = events[-1]
        assert isinstance(last, ResultEvent)
        self.assertEqual((last.execution.outcome, last.execution.exit_code), ("success", 0))

    def test_limits_end_runs_with_their_outcome(self) -> None:
        timeout = self.client.run("javascript", "for (;;) {}", limits={"wall_time_ms": 300})
        self.assertEqual((timeout.outcome, timeout.exit_code), ("timeout", None))
        assert timeout.result is not None
        self.assertEqual(timeout.result.reason, "wall time limit of 300 ms exceeded")
        failing = self.client.run("javascript", 'throw new Error("boom")')
        self.assertEqual((failing.outcome, failing.exit_code), ("error", 1))
        self.assertIn("Error: boom", failing.stderr)

    def test_cancel_and_idempotency(self) -> None:
        submitted = self.client.submit(
            "javascript", "await new Promise((r) => setTimeout(r, 60_000))", limits={"wall_time_ms": 60_000}
        )
        canceled = self.client.cancel(submitted.execution.id)
        self.assertEqual((canceled.status, canceled.outcome), ("finished", "canceled"))
        with self.assertRaises(ConflictError) as again:
            self.client.cancel(submitted.execution.id)
        self.assertEqual((again.exception.status, again.exception.code), (409, "execution_finished"))

        first = self.client.submit("javascript", 'console.log("once")', idempotency_key="py-key-1", wait=20)
        second = self.client.submit("javascript", 'console.log("once")', idempotency_key="py-key-1")
        self.assertEqual((first.created, second.created), (True, False))
        self.assertEqual(second.execution.id, first.execution.id)
        with self.assertRaises(ConflictError) as conflict:
            self.client.submit("javascript", 'console.log("twice")', idempotency_key="py-key-1")
        self.assertEqual(conflict.exception.code, "idempotency_conflict")

    def test_runtimes(self) -> None:
        runtimes = {(r.language, r.backend): r for r in self.client.runtimes()}
        self.assertTrue(runtimes[("javascript", "isolate")].available)
        self.assertTrue(runtimes[("python", "docker")].available)

    def test_templates(self) -> None:
        templates = {t.name: t for t in self.client.templates()}
        self.assertEqual(templates["python"].state, "ready")
        self.assertTrue(templates["python"].builtin)
        self.assertIsNone(templates["python"].workers)
        self.assertEqual([t.name for t in self.client.templates(language="bash")], ["bash"])


class ErrorsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = Client(server_url())

    def test_refusals_are_typed_exceptions_with_code_field_and_status(self) -> None:
        with self.assertRaises(InvalidRequestError) as ceiling:
            self.client.run("javascript", "1", limits={"wall_time_ms": 3_600_000})
        error = ceiling.exception
        self.assertEqual(
            (error.status, error.code, error.field, error.retry_after),
            (400, "invalid_request", "limits.wall_time_ms", None),
        )
        self.assertEqual(error.message, "limits.wall_time_ms: 3600000 is above the server ceiling of 60000")
        self.assertEqual(str(error), f"invalid_request (field limits.wall_time_ms): {error.message}")
        with self.assertRaises(InvalidRequestError) as language:
            self.client.run("cobol", "1")
        self.assertEqual(language.exception.field, "language")
        with self.assertRaises(InvalidRequestError) as several:
            self.client.run("cobol", "1", limits={"wall_time_ms": 3_600_000})
        self.assertEqual(
            [issue.field for issue in several.exception.errors], ["language", "limits.wall_time_ms"]
        )
        self.assertEqual(several.exception.errors[0].field, several.exception.field)

        unknown = "ex_AAAAAAAAAAAAAAAAAAAAAA"
        for call in (self.client.get, self.client.wait, self.client.cancel):
            with self.assertRaises(NotFoundError) as missing:
                call(unknown)
            self.assertEqual((missing.exception.status, missing.exception.code), (404, "execution_not_found"))

    def test_no_server_is_a_network_error(self) -> None:
        nowhere = Client(f"http://127.0.0.1:{closed_port()}", timeout=5)
        with self.assertRaises(NetworkError) as failure:
            nowhere.runtimes()
        self.assertEqual((failure.exception.status, failure.exception.code), (0, "network_error"))
        self.assertIn("GET /v1/runtimes: ConnectionRefusedError", failure.exception.message)

    def test_bad_arguments_are_refused_at_construction(self) -> None:
        with self.assertRaisesRegex(ValueError, "base_url must be an http:// or https:// URL, got 'ftp://x'"):
            Client("ftp://x")
        with self.assertRaisesRegex(ValueError, "token must be a non-empty token without spaces"):
            Client(server_url(), token="two words")


class PythonTest(unittest.TestCase):
    """Python in containers (runc): output files, and a session that draws a chart."""

    def setUp(self) -> None:
        self.client = Client(server_url())

    def test_output_files_come_back_and_save_under_a_folder(self) -> None:
        execution = self.client.run(
            "python",
            'import os\nos.makedirs("out/data")\nopen("out/data/squares.csv", "w").write("1,1\\n2,4\\n")\n'
            'open("out/raw.bin", "wb").write(bytes([0, 255]))\nprint("written")',
            backend="docker",
            limits={"wall_time_ms": 60_000},
        )
        self.assertEqual((execution.outcome, execution.stdout), ("success", "written\n"))
        files = {f.path: f for f in execution.files}
        self.assertEqual(sorted(files), ["data/squares.csv", "raw.bin"])
        self.assertEqual(files["data/squares.csv"].text(), "1,1\n2,4\n")
        self.assertEqual((files["raw.bin"].content, files["raw.bin"].size), (bytes([0, 255]), 2))
        with tempfile.TemporaryDirectory() as folder:
            written = save_files(execution.files, folder)
            self.assertEqual(sorted(p.relative_to(folder).as_posix() for p in written), ["data/squares.csv", "raw.bin"])
            self.assertEqual((Path(folder) / "data" / "squares.csv").read_text(), "1,1\n2,4\n")

    def test_a_session_keeps_state_and_returns_its_chart(self) -> None:
        session = self.client.create_session("python", backend="docker", idle_timeout_seconds=600)
        self.assertEqual((session.status, session.language, session.backend, session.cells), ("ready", "python", "docker", 0))
        try:
            load = self.client.run_cell(
                session.id, 'import pandas as pd\ndf = pd.DataFrame({"x": range(1, 6)})\ndf["y"] = df.x ** 2'
            )
            self.assertEqual((load.outcome, load.session_id), ("success", session.id))
            total = self.client.run_cell(session.id, "df.y.sum()")
            assert total.result is not None
            self.assertEqual(total.result.value, {"text/plain": "55"})
            chart = self.client.run_cell(
                session.id,
                'import matplotlib.pyplot as plt\nplt.plot(df.x, df.y, marker="o")\nplt.title("y = x^2")\nplt.show()',
                limits={"wall_time_ms": 60_000},
            )
            self.assertEqual(chart.outcome, "success")
            self.assertEqual(len(chart.images), 1)
            self.assertEqual(chart.images[0][:8], PNG_MAGIC)
            failing = self.client.run_cell(session.id, "df.z")
            assert failing.result is not None and failing.result.exception is not None
            self.assertEqual(failing.outcome, "error")
            self.assertEqual(failing.result.exception.name, "AttributeError")
            self.assertEqual(self.client.get_session(session.id).cells, 4)
        finally:
            closed = self.client.close_session(session.id)
        self.assertEqual((closed.status, closed.closed_reason), ("closed", "deleted"))
        with self.assertRaises(ConflictError) as after:
            self.client.run_cell(session.id, "df")
        self.assertEqual(after.exception.code, "session_closed")


class InterruptTest(unittest.TestCase):
    def test_an_interrupt_while_waiting_cancels_the_execution(self) -> None:
        client = Client(server_url())
        ident = threading.main_thread().ident
        assert ident is not None
        main: int = ident

        def interrupt_once_running() -> None:
            for _ in range(600):
                if running_executions() > 0:
                    signal.pthread_kill(main, signal.SIGINT)
                    return
                time.sleep(0.05)

        threading.Thread(target=interrupt_once_running, daemon=True).start()
        with self.assertRaises(KeyboardInterrupt):
            client.run("javascript", "await new Promise((r) => setTimeout(r, 60_000))", limits={"wall_time_ms": 60_000})
        self.assertEqual(settled_running_executions(), 0)


if __name__ == "__main__":
    unittest.main()
