"""Checked reads of the JSON Airlock answers with, so a wrong shape is an UnexpectedResponseError naming where.

Internal: the models use these to build themselves from a decoded body, through ``decode``, which reads a
dataclass's fields in their declared order, each by its annotation, so the first field that does not fit is the
one named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

from .errors import UnexpectedResponseError

T = TypeVar("T")


class Shape:
    """One JSON object being read, with its path for messages (``result.usage``)."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise wrong(path, "an object", value)
        self.value: dict[str, Any] = value
        self.path = path

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def text(self, key: str) -> str:
        return _typed(self.value.get(key), str, self._at(key), "a string")

    def optional_text(self, key: str) -> str | None:
        value = self.value.get(key)
        return None if value is None else _typed(value, str, self._at(key), "a string or null")

    def integer(self, key: str) -> int:
        value = self.value.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong(self._at(key), "a whole number", value)
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self.value.get(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        value = self.value.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong(self._at(key), "a number", value)
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self.value.get(key) is None else self.number(key)

    def boolean(self, key: str) -> bool:
        return _typed(self.value.get(key), bool, self._at(key), "true or false")

    def one_of(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise wrong(self._at(key), f"one of {', '.join(allowed)}", value)
        return value

    def child(self, key: str) -> Shape:
        return Shape(self.value.get(key), self._at(key))

    def optional_child(self, key: str) -> Shape | None:
        return None if self.value.get(key) is None else self.child(key)

    def children(self, key: str, optional: bool = False) -> list[Shape]:
        value = self.value.get(key)
        if value is None and optional:
            return []
        items = _typed(value, list, self._at(key), "a list")
        return [Shape(item, f"{self._at(key)}[{i}]") for i, item in enumerate(items)]

    def strings(self, key: str) -> dict[str, str]:
        """An object whose values are all strings (metadata, a MIME bundle)."""
        return string_map(self.value.get(key), self._at(key))


# How a field is read, by its annotation (the models use ``from __future__ import annotations``, so a string).
_READERS: dict[str, Callable[[Shape, str], Any]] = {
    "str": Shape.text,
    "str | None": Shape.optional_text,
    "int": Shape.integer,
    "int | None": Shape.optional_integer,
    "float": Shape.number,
    "float | None": Shape.optional_number,
    "bool": Shape.boolean,
    "dict[str, str]": Shape.strings,
}


def decode(cls: Callable[..., T], shape: Shape, **special: Callable[[Shape], Any]) -> T:
    """Builds the dataclass ``cls`` from ``shape``: each field, in declared order, by ``special[name](shape)``
    where given, else by the reader of its annotation under the field's own name."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        read = special.get(item.name)
        values[item.name] = read(shape) if read is not None else _READERS[str(item.type)](shape, item.name)
    return cls(**values)


D = TypeVar("D", bound="Decoded")


class Decoded:
    """A model read field by field by ``decode``, with no special fields: ``Model.from_json(shape)``."""

    @classmethod
    def from_json(cls: type[D], shape: Shape) -> D:
        return decode(cls, shape)


def string_map(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise wrong(path, "an object of strings", value)
    return {str(k): v for k, v in value.items()}


def _typed(value: Any, kind: type[T], path: str, expected: str) -> T:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise wrong(path, expected, value)
    return value


def wrong(path: str, expected: str, got: Any) -> UnexpectedResponseError:
    shown = type(got).__name__ if not isinstance(got, (str, int, float)) else repr(got)[:60]
    where = path or "the answer"
    return UnexpectedResponseError(200, "unexpected_response", f"{where}: expected {expected}, got {shown}")
