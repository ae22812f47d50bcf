"""Finding the frames of a video id: a video file under ``video_dir`` or a frame directory."""

from __future__ import annotations

from pathlib import Path

from avaloc.data.config import DataConfig
from avaloc.errors import InputError
from avaloc.formats import read_frame_list
from avaloc.video import FrameDirReader, FrameSource, open_video


class VideoSources:
    """Video id -> open :class:`~avaloc.video.FrameSource` (cached per process; picklable)."""

    def __init__(self, config: DataConfig) -> None:
        self.config = config
        self._paths: dict[str, Path] = {}
        self._frame_list: dict[str, list[str]] | None = None
        self._frame_dirs: dict[str, FrameDirReader] = {}

    def __getstate__(self) -> dict:
        return {
            "config": self.config,
            "_paths": self._paths,
            "_frame_list": None,
            "_frame_dirs": {},
        }

    @property
    def uses_frame_dirs(self) -> bool:
        return self.config.frame_dir is not None

    def start_second(self, source: FrameSource) -> float:
        if self.config.start_second is not None:
            return float(self.config.start_second)
        return float(source.default_start_second)

    def video_path(self, video_id: str) -> Path:
        """The file of ``video_id``: ``video_dir/<video_id><ext>`` for the first extension found."""
        path = self._paths.get(video_id)
        if path is not None:
            return path
        folder = self.config.path(self.config.video_dir)
        for extension in self.config.video_extensions:
            candidate = folder / f"{video_id}{extension}"
            if candidate.is_file():
                self._paths[video_id] = candidate
                return candidate
        tried = ", ".join(f"{video_id}{e}" for e in self.config.video_extensions)
        raise InputError(f"video of {video_id!r} not found (looked for {tried})", path=folder)

    def open(self, video_id: str) -> FrameSource:
        """The reader of ``video_id``; InputError naming the file if missing or undecodable."""
        if not self.uses_frame_dirs:
            return open_video(self.video_path(video_id))
        reader = self._frame_dirs.get(video_id)
        if reader is None:
            root = self.config.path(self.config.frame_dir)  # type: ignore[arg-type]
            if self.config.frame_list is not None:
                if self._frame_list is None:
                    self._frame_list = read_frame_list(self.config.path(self.config.frame_list))
                reader = FrameDirReader.from_frame_list(
                    self._frame_list, video_id, root, fps=self.config.frame_fps
                )
            else:
                reader = FrameDirReader.from_directory(root / video_id, fps=self.config.frame_fps)
            if len(self._frame_dirs) >= 64:
                self._frame_dirs.pop(next(iter(self._frame_dirs)))
            self._frame_dirs[video_id] = reader
        return reader
