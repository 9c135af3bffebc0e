"""Files in and out of a run: input files from text, bytes or a local path (bytes travel as base64), and saving a
run's output files under a local folder. Output paths are chosen by the sandboxed program: they must never lead
a write outside the folder they are written to.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from .models import OutputFile


@dataclass(frozen=True)
class InputFile:
    """A file written into the sandbox's working folder before the code runs."""

    path: str
    content: str
    encoding: Literal["utf8", "base64"] = "utf8"

    @staticmethod
    def text(path: str, content: str) -> InputFile:
        return InputFile(path, content, "utf8")

    @staticmethod
    def binary(path: str, content: bytes) -> InputFile:
        return InputFile(path, base64.b64encode(content).decode("ascii"), "base64")

    @staticmethod
    def from_path(local_path: str | os.PathLike[str], path: str | None = None) -> InputFile:
        """Reads a local file. Its sandbox path is ``path``, else the local path when relative and below the
        current folder (``data/a.csv``), else the file's name (``/tmp/a.csv`` → ``a.csv``)."""
        local = Path(local_path)
        return InputFile.binary(path if path is not None else _sandbox_path(local), local.read_bytes())

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "content": self.content, "encoding": self.encoding}


def _sandbox_path(local: Path) -> str:
    parts = [p for p in local.parts if p not in ("", ".")]
    if local.is_absolute() or ".." in parts or not parts:
        return local.name
    return "/".join(parts)


def output_file_path(directory: str | os.PathLike[str], path: str) -> Path | None:
    """Where an output file goes under ``directory``, or None when its path would leave it."""
    segments = path.split("/")
    if any(s in ("", ".", "..") or "\\" in s or "\0" in s for s in segments):
        return None
    root = Path(directory).resolve()
    target = root.joinpath(*PurePosixPath(path).parts).resolve()
    return target if root in target.parents else None


def save_files(files: Iterable[OutputFile], directory: str | os.PathLike[str]) -> list[Path]:
    """Writes output files under ``directory`` (created as needed), replacing files of the same name; returns the
    paths written. A path that is absolute or climbs out of ``directory`` is refused before anything is written."""
    files = list(files)
    targets: list[Path] = []
    for file in files:
        target = output_file_path(directory, file.path)
        if target is None:
            raise ValueError(f"refusing to write output file {file.path!r} outside {os.fspath(directory)}")
        targets.append(target)
    for file, target in zip(files, targets):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.content)
    return targets
