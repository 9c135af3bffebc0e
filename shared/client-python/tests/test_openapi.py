"""The models against the OpenAPI document the server serves (generated from the same zod schemas as the server's
answers, named components inlined): every property of an execution, its result, a session and a runtime has a field here, and the
statuses and outcomes are the same lists."""

from __future__ import annotations

import json
import unittest
import urllib.request
from dataclasses import fields
from typing import Any

from airlock_client import Execution, ExecutionResult, Limits, Runtime, Session, Template, Usage
from airlock_client.models import OUTCOMES, SESSION_STATUSES, STATUSES, TEMPLATE_STATES

from .support import server_url


def inline(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with every ``$ref`` to a component replaced by the component itself (named schemas)."""

    def resolve(node: Any, depth: int) -> Any:
        if depth > 200:
            raise ValueError("the schemas nest deeper than 200 levels (a reference cycle?)")
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                target: Any = spec
                for part in ref[2:].split("/"):
                    target = target[part]
                return resolve(target, depth + 1)
            return {key: resolve(value, depth + 1) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item, depth + 1) for item in node]
        return node

    resolved: dict[str, Any] = resolve(spec, 0)
    return resolved


def answer(spec: dict[str, Any], path: str, method: str = "get", status: str = "200") -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return schema


def object_of(schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema itself, or the object branch of a nullable one."""
    if schema.get("type") == "object":
        return schema
    branch: dict[str, Any] = next(s for s in schema["anyOf"] if s.get("type") == "object")
    return branch


def names(model: type) -> set[str]:
    return {f.name for f in fields(model)} - {"raw"}


class OpenApiTest(unittest.TestCase):
    spec: dict[str, Any]

    @classmethod
    def setUpClass(cls) -> None:
        with urllib.request.urlopen(server_url() + "/openapi.json") as response:
            cls.spec = inline(json.load(response))

    def test_an_execution_and_its_result(self) -> None:
        execution = answer(self.spec, "/v1/executions/{id}")
        properties = execution["properties"]
        self.assertEqual(set(properties), names(Execution))
        self.assertEqual(properties["status"]["enum"], list(STATUSES))
        self.assertEqual(set(object_of(properties["limits"])["properties"]), names(Limits))
        result = object_of(properties["result"])["properties"]
        self.assertEqual(
            set(result),
            (names(ExecutionResult) - {"truncated_stdout", "truncated_stderr"}) | {"truncated"},
        )
        self.assertEqual(set(object_of(result["truncated"])["properties"]), {"stdout", "stderr"})
        self.assertEqual(result["outcome"]["enum"], list(OUTCOMES))
        self.assertEqual(set(object_of(result["usage"])["properties"]), names(Usage))

    def test_a_session_and_a_runtime(self) -> None:
        session = answer(self.spec, "/v1/sessions/{id}")["properties"]
        self.assertEqual(set(session), names(Session))
        self.assertEqual(session["status"]["enum"], list(SESSION_STATUSES))
        runtime = answer(self.spec, "/v1/runtimes")["properties"]["runtimes"]["items"]["properties"]
        self.assertEqual(set(runtime), names(Runtime))

    def test_a_template(self) -> None:
        template = answer(self.spec, "/v1/templates")["properties"]["templates"]["items"]["properties"]
        self.assertEqual(set(template), names(Template))
        self.assertEqual(template["state"]["enum"], list(TEMPLATE_STATES))


if __name__ == "__main__":
    unittest.main()
