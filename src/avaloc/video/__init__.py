"""Decoding frames and clips from video files (PyAV) and PySlowFast frame directories, and
writing frames as H.264 mp4 (``write_video``: synthetic videos, the demo's annotated output).

``keyframe_to_frame_index`` is the one mapping from AVA timestamps to frames;
``open_video`` returns a cached :class:`VideoReader`; ``clip_frame_indices`` samples a clip
around a keyframe.
"""

from avaloc.video.reader import (
    FrameDirReader,
    FrameSource,
    VideoReader,
    clear_video_cache,
    open_video,
    read_keyframe,
    set_video_cache_size,
)
from avaloc.video.timing import (
    AVA_FPS,
    FRAME_DIR_START_SECOND,
    clip_frame_indices,
    clip_offsets,
    frame_index_to_time,
    keyframe_to_frame_index,
)
from avaloc.video.writer import write_video

__all__ = [
    "AVA_FPS",
    "FRAME_DIR_START_SECOND",
    "FrameDirReader",
    "FrameSource",
    "VideoReader",
    "clear_video_cache",
    "clip_frame_indices",
    "clip_offsets",
    "frame_index_to_time",
    "keyframe_to_frame_index",
    "open_video",
    "read_keyframe",
    "set_video_cache_size",
    "write_video",
]
