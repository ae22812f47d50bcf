"""Frame-accurate reading of clips from video files (PyAV) and PySlowFast frame directories.

A :class:`VideoReader` seeks to the keyframe before the first wanted frame and decodes forward to
the last one, never the whole video. Frame ``i`` is the frame whose presentation time is
``start_pts + i / fps`` (in the stream's ``time_base``), so streams with odd time bases or a
non-zero first pts map correctly. Open containers are kept in a bounded per-process LRU cache
(:func:`open_video`); a reader never pickles its container and reopens it lazily after a fork, so
DataLoader workers each open their own.
"""

from __future__ import annotations

import gc
import math
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.codec.context
import av.container
import cv2
import numpy as np

from avaloc.errors import InputError
from avaloc.video.timing import FRAME_DIR_START_SECOND, keyframe_to_frame_index

# Wanted frames further apart than this are read with a fresh seek rather than decoding through.
_SEEK_GAP_SECONDS = 2.0

# Every reader that may hold an open container, and the containers a forked child inherited.
_LIVE_READERS: weakref.WeakSet = weakref.WeakSet()
_FORK_ORPHANS: list = []


def _orphan(container: object) -> None:
    """Keep a container inherited through fork alive for the life of the process.

    Freeing it in the child would join FFmpeg decoding threads that exist only in the parent:
    ``avcodec_free_context`` then waits forever (a DataLoader worker deadlock, seen in testing).
    """
    _FORK_ORPHANS.append(container)


def _orphan_inherited_containers() -> None:
    for reader in list(_LIVE_READERS):
        if reader._container is not None:
            _orphan(reader._container)
            reader._container = None
    # Closed containers awaiting the cyclic GC, and any opened with PyAV directly, would hang
    # the same way when the child's GC frees them: keep every inherited one.
    kinds = (av.container.Container, av.codec.context.CodecContext)
    for obj in gc.get_objects():
        if issubclass(type(obj), kinds):  # type(), not isinstance: never touch obj.__class__
            _orphan(obj)


os.register_at_fork(after_in_child=_orphan_inherited_containers)


def _clamp(indices: Sequence[int] | np.ndarray, num_frames: int) -> np.ndarray:
    array = np.asarray(indices, dtype=np.int64).reshape(-1)
    return np.clip(array, 0, max(num_frames - 1, 0))


class FrameSource:
    """What every reader shares: ``fps``, ``num_frames``, the timestamp mapping, keyframes."""

    #: Time (s) of frame 0 in AVA's timestamp convention (video files start at second 0).
    default_start_second = 0.0
    num_frames: int
    path: Path

    @property
    def fps(self) -> float:
        raise NotImplementedError

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (``num_frames / fps``)."""
        return self.num_frames / self.fps

    def frame_index(self, timestamp: float, *, start_second: float | None = None) -> int:
        """Frame index of ``timestamp`` seconds (see :func:`keyframe_to_frame_index`)."""
        start = self.default_start_second if start_second is None else start_second
        return keyframe_to_frame_index(timestamp, self.fps, start_second=start)

    def read_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def read_keyframe(self, timestamp: float, *, start_second: float | None = None) -> np.ndarray:
        """The (H, W, 3) frame at ``timestamp``; InputError if it lies outside the source."""
        index = self.frame_index(timestamp, start_second=start_second)
        if not 0 <= index < self.num_frames:
            raise InputError(
                f"timestamp {timestamp} is frame {index}, outside the video's "
                f"{self.num_frames} frames ({self.duration:.2f} s at {self.fps:g} fps)",
                path=self.path,
            )
        return self.read_frames([index])[0]


class VideoReader(FrameSource):
    """Random access to the frames of one video file (RGB uint8), decoded with PyAV."""

    def __init__(self, path: str | os.PathLike, *, threads: int = 0) -> None:
        self.path = Path(path)
        self.threads = threads
        self._container: av.container.InputContainer | None = None
        self._pid = -1
        _LIVE_READERS.add(self)
        if not self.path.is_file():
            raise InputError("video not found", path=self.path)
        stream = self._open().streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            self.close()
            raise InputError("video stream has no frame rate", path=self.path)
        self._fps = Fraction(rate)
        self._time_base = Fraction(stream.time_base)
        self._start_pts = int(stream.start_time or 0)
        self.width = int(stream.codec_context.width)
        self.height = int(stream.codec_context.height)
        if self.width <= 0 or self.height <= 0:
            self.close()
            raise InputError("video stream has no frame size", path=self.path)
        frames = int(stream.frames or 0)
        if frames <= 0:
            if stream.duration:
                seconds = stream.duration * self._time_base
            elif self._container.duration:
                seconds = Fraction(self._container.duration, av.time_base)
            else:
                seconds = Fraction(0)
            frames = math.floor(seconds * self._fps + Fraction(1, 2))
        if frames <= 0:
            self.close()
            raise InputError("video has no frames", path=self.path)
        self.num_frames = frames

    # -- metadata ---------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        return float(self._fps)

    def pts_to_index(self, pts: int) -> int:
        return math.floor((pts - self._start_pts) * self._time_base * self._fps + Fraction(1, 2))

    def index_to_pts(self, index: int) -> int:
        """The pts half a frame before frame ``index`` (a safe seek target for it)."""
        return self._start_pts + math.floor(
            (Fraction(index) - Fraction(1, 2)) / self._fps / self._time_base
        )

    # -- container lifecycle ----------------------------------------------------------------
    def _open(self) -> av.container.InputContainer:
        if self._container is not None and self._pid == os.getpid():
            return self._container
        if self._container is not None:  # inherited through fork: never use nor free it
            _orphan(self._container)
            self._container = None
        try:
            container = av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot open video ({_reason(exc)})", path=self.path) from None
        if not container.streams.video:
            container.close()
            raise InputError("file has no video stream", path=self.path)
        stream = container.streams.video[0]
        if self.threads > 1:
            stream.thread_type = "AUTO"
            stream.thread_count = self.threads
        else:
            # One decoding thread: no less CPU per clip with more (bench_video), and DataLoader
            # workers already use every core.
            stream.thread_count = 1
        self._container = container
        self._pid = os.getpid()
        return container

    def close(self) -> None:
        if self._container is not None:
            if self._pid == os.getpid():
                self._container.close()
            else:
                _orphan(self._container)
        self._container = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_container"] = None
        state["_pid"] = -1
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        _LIVE_READERS.add(self)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding ---------------------------------------------------------------------------
    def read_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames at ``indices`` as a (T, H, W, 3) uint8 RGB array, in the order asked.

        Indices beyond the ends repeat the edge frames. Raises InputError naming the file if
        the video cannot be decoded.
        """
        wanted = _clamp(indices, self.num_frames)
        if wanted.size == 0:
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
        unique = np.unique(wanted)
        gap = max(int(_SEEK_GAP_SECONDS * self.fps), 1)
        breaks = np.flatnonzero(np.diff(unique) > gap) + 1
        decoded: dict[int, np.ndarray] = {}
        for group in np.split(unique, breaks):
            decoded.update(self._decode_group(group.tolist()))
        return np.stack([decoded[int(i)] for i in wanted])

    def _decode_group(self, wanted: list[int]) -> dict[int, np.ndarray]:
        first, last = wanted[0], wanted[-1]
        frames = self._decode_span(first, last, set(wanted), seek_pts=self.index_to_pts(first))
        if frames and min(frames) > first and first > 0:
            # The demuxer landed after the wanted frame (bad index): decode from the start.
            frames = self._decode_span(first, last, set(wanted), seek_pts=None)
        if not frames:
            raise InputError(f"no frame could be decoded near frame {first}", path=self.path)
        # Frames the stream does not have (metadata promised more) repeat the nearest decoded one.
        have = np.array(sorted(frames))
        result = {}
        for index in wanted:
            if index in frames:
                result[index] = frames[index]
            else:
                nearest = have[np.abs(have - index).argmin()]
                result[index] = frames[int(nearest)]
        return result

    def _decode_span(
        self, first: int, last: int, wanted: set[int], *, seek_pts: int | None
    ) -> dict[int, np.ndarray]:
        container = self._open()
        stream = container.streams.video[0]
        out: dict[int, np.ndarray] = {}
        before: tuple[int, av.VideoFrame] | None = None  # the last frame before ``first``
        index = -1
        try:
            start = self._start_pts if seek_pts is None else max(seek_pts, self._start_pts)
            container.seek(start, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                index = self.pts_to_index(frame.pts) if frame.pts is not None else index + 1
                if index in wanted:
                    out[index] = frame.to_ndarray(format="rgb24")
                elif index < first:
                    before = (index, frame)
                if index >= last:
                    break
            if before is not None and (not out or min(out) > first):
                # The stream lacks the first wanted frame(s): keep the closest earlier frame.
                out[before[0]] = before[1].to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            self.close()
            raise InputError(
                f"corrupt video: decoding failed near frame {first} ({_reason(exc)})",
                path=self.path,
            ) from None
        return out


class FrameDirReader(FrameSource):
    """A PySlowFast frame directory (``<video_id>/<video_id>_%06d.jpg``) read like a video.

    Frame ``i`` is ``frame_paths[i]``; the AVA convention is 30 fps from second 900.
    """

    default_start_second = FRAME_DIR_START_SECOND

    def __init__(self, frame_paths: Sequence[str | os.PathLike], *, fps: float = 30.0) -> None:
        if not frame_paths:
            raise InputError("frame directory has no frames")
        self.frame_paths = [Path(p) for p in frame_paths]
        self.path = self.frame_paths[0].parent
        self._fps = float(fps)
        self.num_frames = len(self.frame_paths)
        self._size: tuple[int, int] | None = None

    @property
    def height(self) -> int:
        return self._frame_size()[0]

    @property
    def width(self) -> int:
        return self._frame_size()[1]

    def _frame_size(self) -> tuple[int, int]:
        if self._size is None:
            self._size = tuple(self._load(0).shape[:2])  # type: ignore[assignment]
        return self._size  # type: ignore[return-value]

    @classmethod
    def from_directory(
        cls, directory: str | os.PathLike, *, fps: float = 30.0, pattern: str = "*.jpg"
    ) -> FrameDirReader:
        """All frames of ``directory`` matching ``pattern``, in file-name order."""
        directory = Path(directory)
        if not directory.is_dir():
            raise InputError("frame directory not found", path=directory)
        paths = sorted(directory.glob(pattern))
        if not paths:
            raise InputError(f"frame directory has no {pattern} frames", path=directory)
        return cls(paths, fps=fps)

    @classmethod
    def from_frame_list(
        cls,
        frame_list: dict[str, list[str]],
        video_id: str,
        root: str | os.PathLike,
        *,
        fps: float = 30.0,
    ) -> FrameDirReader:
        """The frames of ``video_id`` in a PySlowFast frame list (paths relative to ``root``).

        ``frame_list`` is what :func:`avaloc.formats.read_frame_list` returns.
        """
        if video_id not in frame_list:
            raise InputError(f"video {video_id!r} is not in the frame list", path=root)
        return cls([Path(root) / p for p in frame_list[video_id]], fps=fps)

    @property
    def fps(self) -> float:
        return self._fps

    def _load(self, index: int) -> np.ndarray:
        path = self.frame_paths[index]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            what = "frame not found" if not path.is_file() else "cannot decode frame image"
            raise InputError(what, path=path)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def read_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        wanted = _clamp(indices, self.num_frames)
        loaded = {int(i): self._load(int(i)) for i in np.unique(wanted)}
        if not loaded:
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
        return np.stack([loaded[int(i)] for i in wanted])

    def close(self) -> None:
        """Nothing to release (frames are read on demand); present for API symmetry."""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _ReaderCache:
    """A bounded LRU of open readers, private to the process that filled it."""

    def __init__(self, max_open: int) -> None:
        self.max_open = max_open
        self._readers: OrderedDict[str, VideoReader] = OrderedDict()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def get(self, path: str | os.PathLike, threads: int = 0) -> VideoReader:
        key = os.path.abspath(os.fspath(path))
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: start empty, leave the parent's alone
                self._readers = OrderedDict()
                self._pid = os.getpid()
            reader = self._readers.get(key)
            if reader is not None:
                self._readers.move_to_end(key)
                return reader
        reader = VideoReader(key, threads=threads)
        with self._lock:
            self._readers[key] = reader
            while len(self._readers) > self.max_open:
                _, evicted = self._readers.popitem(last=False)
                evicted.close()
        return reader

    def clear(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                for reader in self._readers.values():
                    reader.close()
            self._readers = OrderedDict()
            self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self._readers)


_CACHE = _ReaderCache(max_open=16)


def open_video(path: str | os.PathLike) -> VideoReader:
    """A reader for ``path`` from the per-process cache of open containers (LRU, 16 by default).

    Missing or undecodable files raise InputError naming the file.
    """
    return _CACHE.get(path)


def set_video_cache_size(max_open: int) -> None:
    """Bound the number of containers kept open per process (evicting the oldest)."""
    if max_open < 1:
        raise ValueError("max_open must be >= 1")
    _CACHE.max_open = max_open
    with _CACHE._lock:
        while len(_CACHE._readers) > max_open:
            _, evicted = _CACHE._readers.popitem(last=False)
            evicted.close()


def clear_video_cache() -> None:
    """Close every cached container of this process."""
    _CACHE.clear()


def read_keyframe(
    path: str | os.PathLike, timestamp: float, *, start_second: float | None = None
) -> np.ndarray:
    """The (H, W, 3) uint8 RGB frame at ``timestamp`` seconds of the video at ``path``."""
    return open_video(path).read_keyframe(timestamp, start_second=start_second)


def _reset_cache_lock_in_child() -> None:
    _CACHE._lock = threading.Lock()  # a lock held by another thread at fork time stays held


os.register_at_fork(after_in_child=_reset_cache_lock_in_child)
