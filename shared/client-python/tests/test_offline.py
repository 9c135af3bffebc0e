"""What the client decides without a server: reading SSE (keep-alives, CRLF, unknown events, a stream cut before
its result), refusing answers of the wrong shape, and output paths that would leave their folder."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path
from typing import Any

from airlock_client import Execution, OutputFile, UnexpectedResponseError, output_file_path, save_files
from airlock_client._sse import execution_events, raw_events

EXECUTION: dict[str, Any] = {
    "id": "ex_AAAAAAAAAAAAAAAAAAAAAA",
    "tenant": "local",
    "status": "finished",
    "language": "python",
    "backend": "docker",
    "limits": {"wall_time_ms": 1, "cpu_time_ms": 1, "memory_mb": 8, "output_bytes": 1},
    "metadata": {},
    "created_at": "t",
    "started_at": "t",
    "finished_at": "t",
    "result": {
        "outcome": "success",
        "exit_code": 0,
        "signal": None,
        "stdout": "",
        "stderr": "",
        "truncated": {"stdout": False, "stderr": False},
        "usage": {"cpu_ms": None, "wall_ms": 1, "memory_peak_bytes": None},
        "reason": None,
        "files": [{"path": "a.txt", "size": 2, "encoding": "base64", "content": "aGk="}],
    },
}


class EventStreamTest(unittest.TestCase):
    def test_reads_the_sse_subset_the_gateway_writes(self) -> None:
        lines = [": keep-alive", "", "id: 1", "event: stdout", 'data: {"data":"a"}', "", "event: custom", "data: 1", ""]
        self.assertEqual(list(raw_events(lines)), [("stdout", '{"data":"a"}'), ("custom", "1")])

    def test_a_stream_that_ends_before_its_result_is_an_error(self) -> None:
        events = execution_events(["event: state", 'data: {"status":"running"}', ""], "/x")
        self.assertEqual(next(events).type, "state")
        with self.assertRaisesRegex(UnexpectedResponseError, "GET /x: the event stream ended before the result"):
            next(events)

    def test_an_event_of_the_wrong_shape_is_named(self) -> None:
        with self.assertRaisesRegex(UnexpectedResponseError, r"GET /x: event 'state': status: expected one of"):
            list(execution_events(["event: state", 'data: {"status":"sleeping"}', ""], "/x"))
        with self.assertRaisesRegex(UnexpectedResponseError, "GET /x: event 'stdout' does not carry JSON"):
            list(execution_events(["event: stdout", "data: {", ""], "/x"))


class ShapeTest(unittest.TestCase):
    def test_reads_an_execution_and_its_files(self) -> None:
        execution = Execution.from_json(EXECUTION)
        self.assertEqual((execution.outcome, execution.exit_code), ("success", 0))
        self.assertEqual(execution.files, [OutputFile("a.txt", 2, b"hi")])
        self.assertEqual(execution.raw, EXECUTION)

    def test_names_the_first_field_that_does_not_fit(self) -> None:
        changes: list[tuple[dict[str, Any], str]] = [
            ({"status": "done"}, "status: expected one of queued, running, finished, got 'done'"),
            ({"limits": None}, "limits: expected an object, got NoneType"),
            ({"result": {**EXECUTION["result"], "exit_code": "0"}}, "result.exit_code: expected a whole number"),
            ({"metadata": {"a": 1}}, "metadata: expected an object of strings"),
        ]
        for change, message in changes:
            with self.subTest(change=change), self.assertRaisesRegex(UnexpectedResponseError, message):
                Execution.from_json({**EXECUTION, **change})


class OutputPathTest(unittest.TestCase):
    def test_refuses_paths_that_leave_the_folder(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            for path in ["../x", "a/../../x", "/etc/x", "a//b", "./a", "a\\..\\x", "", "a\0b"]:
                self.assertIsNone(output_file_path(folder, path), path)
            self.assertEqual(output_file_path(folder, "a/b.txt"), Path(folder).resolve() / "a" / "b.txt")
            with self.assertRaisesRegex(ValueError, "refusing to write output file '../x' outside"):
                save_files([OutputFile("ok.txt", 1, b"1"), OutputFile("../x", 1, b"2")], folder)
            self.assertEqual(list(Path(folder).iterdir()), [])


if __name__ == "__main__":
    unittest.main()
