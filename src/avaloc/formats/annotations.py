"""The AVA data model: keyframes -> person instances -> label sets.

An AVA ground-truth CSV has one row per (person box, action). A *person instance* is one distinct
box at one keyframe ``(video_id, timestamp)``; its labels are the set of action ids of its rows.
:class:`Instances` holds all instances column-wise (numpy arrays, CSR label lists) so that every
later stage (balancing, datasets, evaluation) works vectorised on hundreds of thousands of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from avaloc.formats.csvfiles import BOX_COLUMNS

Keyframe = tuple[str, int]


@dataclass(frozen=True)
class PersonInstance:
    """One person at one keyframe: a normalized box, its action ids, and its track id."""

    box: tuple[float, float, float, float]
    labels: frozenset[int]
    person_id: int


@dataclass(frozen=True)
class Instances:
    """All person instances of an annotation file, sorted by (video_id, timestamp, box).

    ``labels[i]`` is ``label_ids[label_indptr[i]:label_indptr[i + 1]]`` (sorted, distinct).
    """

    video_ids: np.ndarray  # (N,) object, str
    timestamps: np.ndarray  # (N,) int64
    boxes: np.ndarray  # (N, 4) float64, normalized x1 y1 x2 y2
    person_ids: np.ndarray  # (N,) int64, -1 when unknown
    label_indptr: np.ndarray  # (N + 1,) int64
    label_ids: np.ndarray  # (L,) int64

    def __len__(self) -> int:
        return len(self.timestamps)

    def labels_of(self, index: int) -> np.ndarray:
        return self.label_ids[self.label_indptr[index] : self.label_indptr[index + 1]]

    def label_counts_per_instance(self) -> np.ndarray:
        return np.diff(self.label_indptr)

    def instance_of_label(self) -> np.ndarray:
        """For each entry of ``label_ids``, the index of its instance."""
        return np.repeat(np.arange(len(self)), self.label_counts_per_instance())

    def multi_hot(self, class_ids: Sequence[int]) -> np.ndarray:
        """(N, K) bool matrix over ``class_ids`` (labels outside it are ignored)."""
        lookup = {int(c): k for k, c in enumerate(class_ids)}
        columns = np.array([lookup.get(int(a), -1) for a in np.unique(self.label_ids)])
        unique, inverse = np.unique(self.label_ids, return_inverse=True)
        del unique
        column_of_entry = columns[inverse] if len(columns) else np.zeros(0, dtype=np.int64)
        rows = self.instance_of_label()
        keep = column_of_entry >= 0
        matrix = np.zeros((len(self), len(class_ids)), dtype=bool)
        matrix[rows[keep], column_of_entry[keep]] = True
        return matrix

    def class_counts(self) -> dict[int, int]:
        """Instances per action id (each instance counts once per distinct label)."""
        ids, counts = np.unique(self.label_ids, return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist()))

    def keyframe_keys(self) -> list[Keyframe]:
        """Distinct keyframes in sorted order."""
        keys = pd.DataFrame({"v": self.video_ids, "t": self.timestamps}).drop_duplicates()
        return list(zip(keys["v"].tolist(), keys["t"].tolist()))

    def instance(self, index: int) -> PersonInstance:
        return PersonInstance(
            box=tuple(float(v) for v in self.boxes[index]),  # type: ignore[arg-type]
            labels=frozenset(self.labels_of(index).tolist()),
            person_id=int(self.person_ids[index]),
        )

    def by_keyframe(self) -> dict[Keyframe, list[PersonInstance]]:
        """The mapping view: keyframe -> its person instances (in box order)."""
        result: dict[Keyframe, list[PersonInstance]] = {}
        for index in range(len(self)):
            key = (str(self.video_ids[index]), int(self.timestamps[index]))
            result.setdefault(key, []).append(self.instance(index))
        return result

    def keyframe_slices(self) -> Iterator[tuple[Keyframe, slice]]:
        """(keyframe, slice of instance indices) for each keyframe, without building objects."""
        if len(self) == 0:
            return
        change = (
            np.flatnonzero(
                (self.video_ids[1:] != self.video_ids[:-1])
                | (self.timestamps[1:] != self.timestamps[:-1])
            )
            + 1
        )
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(self)]])
        for start, end in zip(starts.tolist(), ends.tolist()):
            yield (str(self.video_ids[start]), int(self.timestamps[start])), slice(start, end)


def group_instances(rows: pd.DataFrame) -> Instances:
    """Group ground-truth rows into person instances (distinct box per keyframe).

    Rows that repeat the same (instance, action) add nothing; the person id of an instance is
    that of its first row.
    """
    if len(rows) == 0:
        return Instances(
            np.zeros(0, dtype=object),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, 4)),
            np.zeros(0, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
        )
    frame = rows[["video_id", "timestamp", *BOX_COLUMNS, "action_id", "person_id"]]
    order_keys = ["video_id", "timestamp", *BOX_COLUMNS]
    frame = frame.sort_values([*order_keys, "action_id"], kind="stable")
    instance_index = frame.groupby(order_keys, sort=False, observed=True).ngroup().to_numpy()
    first_of_instance = np.concatenate([[True], instance_index[1:] != instance_index[:-1]])
    heads = frame.loc[first_of_instance]
    actions = frame["action_id"].to_numpy().astype(np.int64)
    distinct = first_of_instance | np.concatenate([[True], actions[1:] != actions[:-1]])
    label_ids = actions[distinct]
    label_instance = instance_index[distinct]
    label_counts = np.bincount(label_instance, minlength=len(heads))
    indptr = np.concatenate([[0], np.cumsum(label_counts)]).astype(np.int64)
    return Instances(
        video_ids=heads["video_id"].to_numpy().astype(object),
        timestamps=heads["timestamp"].to_numpy().astype(np.int64),
        boxes=heads[BOX_COLUMNS].to_numpy().astype(np.float64),
        person_ids=heads["person_id"].to_numpy().astype(np.int64),
        label_indptr=indptr,
        label_ids=label_ids,
    )


def instances_to_rows(instances: Instances) -> pd.DataFrame:
    """The inverse of :func:`group_instances`: one ground-truth row per (instance, label)."""
    owner = instances.instance_of_label()
    frame = pd.DataFrame(
        {
            "video_id": instances.video_ids[owner],
            "timestamp": instances.timestamps[owner],
            **{c: instances.boxes[owner, k] for k, c in enumerate(BOX_COLUMNS)},
            "action_id": instances.label_ids,
            "person_id": instances.person_ids[owner],
        }
    )
    return frame


@dataclass(frozen=True)
class AnnotationSummary:
    """The figures ``avaloc info`` prints."""

    videos: int
    keyframes: int
    instances: int
    labels: int
    labels_per_instance_mean: float
    labels_per_instance_max: int
    labels_per_instance_histogram: dict[int, int]
    per_class: dict[int, int]


def summarize(rows: pd.DataFrame, instances: Instances | None = None) -> AnnotationSummary:
    """Counts of a ground-truth table: videos, keyframes, instances, labels, per class."""
    instances = group_instances(rows) if instances is None else instances
    per_instance = instances.label_counts_per_instance()
    hist_values, hist_counts = np.unique(per_instance, return_counts=True)
    keyframes = pd.DataFrame({"v": instances.video_ids, "t": instances.timestamps})
    return AnnotationSummary(
        videos=int(pd.unique(instances.video_ids).size),
        keyframes=len(keyframes.drop_duplicates()),
        instances=len(instances),
        labels=len(instances.label_ids),
        labels_per_instance_mean=float(per_instance.mean()) if len(per_instance) else 0.0,
        labels_per_instance_max=int(per_instance.max()) if len(per_instance) else 0,
        labels_per_instance_histogram=dict(zip(hist_values.tolist(), hist_counts.tolist())),
        per_class=instances.class_counts(),
    )


def filter_keyframes(rows: pd.DataFrame, excluded: Iterable[Keyframe]) -> pd.DataFrame:
    """Drop the rows of excluded keyframes (timestamps compared as integers)."""
    excluded = set(excluded)
    if not excluded or len(rows) == 0:
        return rows
    keys = pd.MultiIndex.from_arrays([rows["video_id"], rows["timestamp"].astype(np.int64)])
    drop = keys.isin(list(excluded))
    return rows.loc[~drop].reset_index(drop=True)
