"""Resolve user-given file paths strictly inside a base directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from datasources.connectors.base import INVALID_CONFIG, ConnectorError

__all__ = ["path_problem", "read_limited", "resolve_under"]


def path_problem(relative: str) -> str | None:
    """Why `relative` is not an acceptable relative path, judged on the text alone."""
    if not isinstance(relative, str) or not relative.strip():
        return "A file path is required."
    if "\x00" in relative:
        return "The path contains a NUL byte."
    posix, windows = PurePosixPath(relative), PureWindowsPath(relative)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or relative.startswith("~"):
        return "The path must be relative to the data directory."
    if ".." in posix.parts or ".." in windows.parts:
        return "The path must not contain '..'."
    return None


def resolve_under(base_dir: Path | str | None, relative: str, what: str) -> Path:
    """The real path of an existing file under base_dir, refusing traversal and symlink escapes."""
    if base_dir is None:
        raise ConnectorError(f"No base directory is configured for {what} files.", INVALID_CONFIG)
    problem = path_problem(relative)
    if problem:
        raise ConnectorError(problem, INVALID_CONFIG)
    base = Path(os.path.realpath(base_dir))
    # realpath follows every symlink, so a link pointing outside the base is caught here.
    target = Path(os.path.realpath(base / relative))
    if os.path.commonpath([base, target]) != str(base):
        raise ConnectorError("The path points outside the data directory.", INVALID_CONFIG)
    if not target.is_file():
        raise ConnectorError(f"The {what} file {relative!r} does not exist.", INVALID_CONFIG)
    return target


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing files larger than max_bytes."""
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ConnectorError(f"The file is larger than the {max_bytes} byte limit.", INVALID_CONFIG)
    return data
