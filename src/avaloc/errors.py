"""The one exception type for bad user input.

Library code raises :class:`InputError` for anything the user can fix (a malformed CSV row, a
missing video, an unknown config key). The CLI catches it, prints its one-line message to stderr
and exits with status 2. Bugs are ordinary exceptions and keep their traceback.
"""

from __future__ import annotations

import os


class InputError(Exception):
    """Bad input: names the file (and line) or config key, and says what is wrong."""

    def __init__(
        self,
        what: str,
        *,
        path: str | os.PathLike | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.what = what
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.key = key
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.key is not None:
            where = f"{where} key '{self.key}'" if where else f"key '{self.key}'"
        return f"{where}: {self.what}" if where else self.what
