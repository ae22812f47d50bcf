"""Plain-text lists of the AVA distribution and PySlowFast's frame lists.

* id lists (``ava_test_v2.2.txt``): one video id a line;
* file-name lists (``ava_file_names_trainval_v2.1.txt``): ``<video_id>.<ext>`` a line;
* timestamp lists (``ava_included_timestamps_v2.2.txt``): one zero-padded second a line;
* PySlowFast frame lists (``frame_lists/train.csv``): space-separated with a header line,
  ``original_vido_id video_idx frame_idx path labels``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from avaloc.errors import InputError
from avaloc.fileio import atomic_write

FRAME_LIST_HEADER = "original_vido_id video_idx frame_idx path labels"


def _lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path) from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_id_list(path: str | os.PathLike) -> list[str]:
    """Video ids, one a line (file names are reduced to their id: ``abc.mkv`` -> ``abc``)."""
    ids = []
    for line_no, line in _lines(path):
        if any(ch.isspace() for ch in line):
            raise InputError(f"video id {line!r} contains white space", path=path, line=line_no)
        ids.append(line.rsplit(".", 1)[0] if "." in line else line)
    return ids


def read_file_name_list(path: str | os.PathLike) -> dict[str, str]:
    """Video id -> file name (``ava_file_names_*.txt``)."""
    result: dict[str, str] = {}
    for line_no, line in _lines(path):
        if "." not in line:
            raise InputError(f"file name {line!r} has no extension", path=path, line=line_no)
        video_id = line.rsplit(".", 1)[0]
        if video_id in result:
            raise InputError(f"video id {video_id!r} listed twice", path=path, line=line_no)
        result[video_id] = line
    return result


def read_timestamp_list(path: str | os.PathLike) -> list[int]:
    """Keyframe seconds, one a line (``0902`` -> 902)."""
    seconds = []
    for line_no, line in _lines(path):
        if not line.isdigit():
            raise InputError(
                f"timestamp {line!r} is not a non-negative integer", path=path, line=line_no
            )
        seconds.append(int(line))
    return seconds


@dataclass(frozen=True)
class FrameListEntry:
    video_id: str
    video_index: int
    frame_index: int
    path: str
    labels: str = '""'


def read_frame_list(path: str | os.PathLike) -> dict[str, list[str]]:
    """PySlowFast frame list -> video id -> frame paths ordered by frame index."""
    lines = _lines(path)
    if not lines:
        raise InputError("empty frame list", path=path)
    header_no, header = lines[0]
    if header.split()[:4] != FRAME_LIST_HEADER.split()[:4]:
        raise InputError(f"expected the header {FRAME_LIST_HEADER!r}", path=path, line=header_no)
    frames: dict[str, dict[int, str]] = {}
    for line_no, line in lines[1:]:
        parts = line.split()
        if len(parts) < 4:
            raise InputError(
                f"expected at least 4 space-separated fields, found {len(parts)}",
                path=path,
                line=line_no,
            )
        try:
            frame_index = int(parts[2])
        except ValueError:
            raise InputError(
                f"frame_idx {parts[2]!r} is not an integer", path=path, line=line_no
            ) from None
        per_video = frames.setdefault(parts[0], {})
        if frame_index in per_video:
            raise InputError(
                f"frame {frame_index} of {parts[0]!r} listed twice", path=path, line=line_no
            )
        per_video[frame_index] = parts[3]
    return {video: [paths[k] for k in sorted(paths)] for video, paths in frames.items()}


def write_frame_list(frames: dict[str, list[str]], path: str | os.PathLike) -> None:
    """Write a PySlowFast frame list (video index by insertion order, frame index by position)."""
    with atomic_write(path) as handle:
        handle.write(FRAME_LIST_HEADER + "\n")
        for video_index, (video_id, paths) in enumerate(frames.items()):
            for frame_index, frame_path in enumerate(paths):
                handle.write(f'{video_id} {video_index} {frame_index} {frame_path} ""\n')
