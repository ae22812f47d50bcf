"""Linking person boxes across keyframes into tracks, for the video demo.

Detections arrive once a second, so motion between keyframes is large compared with a
frame-to-frame tracker's assumptions; greedy IoU matching with a distance fallback is what the
demo needs (SORT-style Kalman filtering would add little at 1 Hz). Each keyframe's boxes are
matched to the tracks seen in the last ``max_age`` keyframes: first by IoU (highest pairs first,
at least ``min_iou``), then unmatched boxes by centre distance relative to box size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torchvision.ops import box_iou


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    last_seen: int


@dataclass
class IouTracker:
    """Greedy IoU tracker over keyframes; ``update`` returns a track id per box."""

    min_iou: float = 0.3
    max_center_distance: float = 0.75  # in units of the track box's diagonal
    max_age: int = 2
    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 1
    _step: int = 0

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Assign track ids to ``boxes`` (N, 4) of the next keyframe, in any coordinates."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self._tracks = [t for t in self._tracks if self._step - t.last_seen <= self.max_age]
        ids = np.full(len(boxes), -1, dtype=np.int64)
        if self._tracks and len(boxes):
            track_boxes = np.stack([t.box for t in self._tracks])
            iou = box_iou(torch.from_numpy(boxes), torch.from_numpy(track_boxes)).numpy()
            free_tracks = set(range(len(self._tracks)))
            for flat in np.argsort(-iou, axis=None, kind="stable"):
                b, t = divmod(int(flat), len(self._tracks))
                if iou[b, t] < self.min_iou:
                    break
                if ids[b] < 0 and t in free_tracks:
                    ids[b] = self._tracks[t].track_id
                    free_tracks.discard(t)
            self._match_by_distance(boxes, track_boxes, ids, free_tracks)
        for b in range(len(boxes)):
            if ids[b] < 0:
                ids[b] = self._next_id
                self._tracks.append(_Track(self._next_id, boxes[b], self._step))
                self._next_id += 1
        by_id = {t.track_id: t for t in self._tracks}
        for b, track_id in enumerate(ids.tolist()):
            by_id[track_id].box = boxes[b]
            by_id[track_id].last_seen = self._step
        self._step += 1
        return ids

    def _match_by_distance(
        self, boxes: np.ndarray, track_boxes: np.ndarray, ids: np.ndarray, free_tracks: set[int]
    ) -> None:
        pending = [b for b in range(len(boxes)) if ids[b] < 0]
        if not pending or not free_tracks:
            return
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        track_centres = (track_boxes[:, :2] + track_boxes[:, 2:]) / 2
        diagonal = np.hypot(
            track_boxes[:, 2] - track_boxes[:, 0], track_boxes[:, 3] - track_boxes[:, 1]
        )
        pairs = []
        for b in pending:
            for t in free_tracks:
                distance = np.hypot(*(centres[b] - track_centres[t])) / max(diagonal[t], 1e-9)
                if distance <= self.max_center_distance:
                    pairs.append((distance, b, t))
        for _, b, t in sorted(pairs):
            if ids[b] < 0 and t in free_tracks:
                ids[b] = self._tracks[t].track_id
                free_tracks.discard(t)
