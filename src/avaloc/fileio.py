"""Atomic file writing: a file is either complete or absent, never half-written.

Every writer in avaloc goes through :func:`atomic_write` or :func:`atomic_path`: the data goes to a
temporary file in the destination folder, is flushed to disk, and is renamed over the target
with :func:`os.replace` (atomic on POSIX and Windows). A crash leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    For writers that want a file name (``torch.save``, ``av.open``, ``savefig``). The temporary
    name keeps the target's suffixes so that libraries choosing a format by extension still work.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing and rename it onto ``path`` when the block succeeds.

    A ``.gz`` target is gzip-compressed transparently (text or binary ``mode``).
    """
    if "w" not in mode:
        raise ValueError(f"atomic_write needs a write mode, got {mode!r}")
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            gz_mode = mode if "b" in mode else mode.replace("w", "wt")
            # mtime=0 keeps gzip output byte-identical for identical content.
            raw = open(tmp, "wb")  # noqa: SIM115 - closed below, after the gzip stream
            try:
                with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
                    if "b" in gz_mode:
                        yield gz
                    else:
                        kwargs = {"encoding": "utf-8", "newline": ""} | open_kwargs
                        with io.TextIOWrapper(gz, **kwargs) as text:
                            yield text
            finally:
                raw.close()
        else:
            kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
            with open(tmp, mode, **(kwargs | open_kwargs)) as handle:
                yield handle
