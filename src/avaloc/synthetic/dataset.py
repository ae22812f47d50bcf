"""Generating the synthetic AVA miniature: videos, AVA annotation files, clips, README.

Every video and clip draws from its own generator ``numpy_generator(seed, stream, index)``, so the
output does not depend on the number of worker processes or on their scheduling.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from avaloc.errors import InputError
from avaloc.fileio import atomic_write
from avaloc.formats import (
    GT_COLUMNS,
    write_excluded_timestamps,
    write_ground_truth,
    write_label_map,
)
from avaloc.seeding import numpy_generator
from avaloc.synthetic.render import Scene, build_scene, figure_at, frame_box, iterate_frames
from avaloc.synthetic.script import (
    CLIP_CLASSES,
    FPS,
    ScriptConfig,
    clip_script,
    sample_script,
)
from avaloc.synthetic.vocabulary import CLASSES, action_id, label_map
from avaloc.video import write_video

MANIFEST = "synth_manifest.json"
FORMAT_VERSION = 1
MIN_VISIBLE = 0.5  # annotate a person when at least this fraction of its figure is in the frame
AMBIGUOUS_VISIBLE = 0.15  # a keyframe with a person between this and MIN_VISIBLE is excluded

_VIDEO_STREAM, _CLIP_STREAM, _ID_STREAM = 1, 2, 3
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class Preset:
    """Size of a generated set."""

    name: str
    width: int
    height: int
    train_videos: int
    val_videos: int
    seconds: int  # per video; keyframes are seconds 1 .. seconds - 2
    clip_width: int
    clip_height: int
    clips_per_class_train: int
    clips_per_class_val: int
    clip_frames: int
    workers: int


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 160, 120, 3, 1, 8, 112, 112, 1, 1, 72, 1),
    "small": Preset("small", 224, 168, 9, 3, 12, 112, 112, 3, 1, 72, 2),
    "default": Preset("default", 224, 168, 80, 20, 24, 128, 128, 12, 3, 72, 2),
}


@dataclass(frozen=True)
class VideoResult:
    video_id: str
    rows: list[tuple]
    excluded: list[int]
    frames: int
    cpu_seconds: float


def video_ids(seed: int, count: int) -> list[str]:
    """Distinct 11-character YouTube-like ids; about one in five starts with '-' or '_'."""
    rng = numpy_generator(seed, _ID_STREAM)
    ids: list[str] = []
    while len(ids) < count:
        chars = rng.integers(0, 62, size=11)
        text = "".join(_ID_ALPHABET[c] for c in chars)
        if rng.random() < 0.2:
            text = _ID_ALPHABET[62 + int(rng.integers(2))] + text[1:]
        if rng.random() < 0.3:
            text = text[:5] + _ID_ALPHABET[62 + int(rng.integers(2))] + text[6:]
        if text not in ids:
            ids.append(text)
    return ids


def keyframe_annotations(scene: Scene, video_id: str) -> tuple[list[tuple], list[int]]:
    """GT rows and excluded timestamps of one video, from its figures' masks at the keyframes."""
    scene_script = scene.script
    rows: list[tuple] = []
    excluded: list[int] = []
    width, height = scene_script.width, scene_script.height
    seconds = scene_script.num_frames // FPS
    for timestamp in range(1, seconds - 1):
        frame = timestamp * FPS
        keyframe_rows = []
        ambiguous = False
        for track in scene_script.tracks:
            if not track.start <= frame < track.stop:
                continue
            result = frame_box(scene, frame, figure_at(track, frame))
            if result is None:
                continue
            box, visible = result
            if visible < MIN_VISIBLE:
                ambiguous |= visible >= AMBIGUOUS_VISIBLE
                continue
            seg = track.segments[track.segment_index(frame)]
            norm = (box[0] / width, box[1] / height, box[2] / width, box[3] / height)
            for label in seg.labels:
                keyframe_rows.append((video_id, timestamp, *norm, label, track.person_id))
        if ambiguous:
            excluded.append(timestamp)
        else:
            rows.extend(keyframe_rows)
    return rows, excluded


def video_scene(seed: int, index: int, preset: Preset, cfg: ScriptConfig | None = None) -> Scene:
    """The script and scene of video ``index`` of a generated set (re-creatable at will)."""
    rng = numpy_generator(seed, _VIDEO_STREAM, index)
    script = sample_script(rng, preset.width, preset.height, preset.seconds, cfg or ScriptConfig())
    return build_scene(rng, script)


def _render_video(args: tuple[int, int, str, Preset, str, ScriptConfig, bool]) -> VideoResult:
    seed, index, video_id, preset, out_dir, cfg, render = args
    started = time.process_time()
    scene = video_scene(seed, index, preset, cfg)
    frames = scene.script.num_frames
    if render:
        path = Path(out_dir) / "videos" / f"{video_id}.mp4"
        frames = write_video(path, iterate_frames(scene), FPS)
    rows, excluded = keyframe_annotations(scene, video_id)
    return VideoResult(video_id, rows, excluded, frames, time.process_time() - started)


def _render_clip(args: tuple[int, int, str, Preset, str]) -> tuple[str, str, float]:
    seed, index, name, preset, out_dir = args
    started = time.process_time()
    rng = numpy_generator(seed, _CLIP_STREAM, index)
    script = clip_script(rng, name, preset.clip_width, preset.clip_height, preset.clip_frames)
    scene = build_scene(rng, script)
    relative = f"clips/videos/clip{index:05d}.mp4"
    write_video(Path(out_dir) / relative, iterate_frames(scene), FPS)
    return relative, name, time.process_time() - started


def _check_target(out_dir: Path, overwrite: bool) -> list[str]:
    """Refuse a non-empty folder that is not a previous synth output; return its old files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("exists and is not a folder", path=out_dir)
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return []
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        try:
            return list(json.loads(manifest.read_text(encoding="utf-8"))["files"])
        except (ValueError, KeyError, TypeError):
            if not overwrite:
                raise InputError(
                    "unreadable synth manifest; pass --overwrite to write anyway", path=manifest
                ) from None
            return []
    if not overwrite:
        raise InputError(
            f"folder is not empty and holds no previous synth output ({MANIFEST}); "
            "choose an empty folder or pass --overwrite",
            path=out_dir,
        )
    return []


def _rows_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=GT_COLUMNS)
    frame = frame.astype({"timestamp": np.int64, "action_id": np.int64, "person_id": np.int64})
    return frame.sort_values(["video_id", "timestamp", "person_id", "action_id"], kind="stable")


def _map(function, tasks: list, workers: int, bar: tqdm) -> list:
    results = []
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            results.append(function(task))
            bar.update(1)
        return results
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for result in pool.map(function, tasks, chunksize=1):
            results.append(result)
            bar.update(1)
    return results


def generate_dataset(
    out_dir: str | os.PathLike,
    preset: str = "tiny",
    seed: int = 0,
    *,
    overwrite: bool = False,
    workers: int | None = None,
    progress: bool = True,
    config: ScriptConfig | None = None,
    render_videos: bool = True,
) -> Path:
    """Render the synthetic AVA miniature into ``out_dir`` and return its path.

    ``preset`` is ``tiny`` (unit tests, seconds), ``small`` (CI end to end) or ``default`` (the
    quickstart). The same ``(preset, seed)`` gives byte-identical files. A non-empty ``out_dir``
    that is not a previous synth output is refused unless ``overwrite``. ``render_videos=False``
    writes only the annotation files (identical to a full run's) in a fraction of the time.
    """
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    spec = PRESETS[preset]
    cfg = config or ScriptConfig()
    out = Path(out_dir)
    old_files = _check_target(out, overwrite)
    started = time.perf_counter()
    workers = spec.workers if workers is None else max(1, int(workers))
    workers = min(workers, os.cpu_count() or 1) if render_videos else 1
    num_videos = spec.train_videos + spec.val_videos
    ids = video_ids(seed, num_videos)
    video_tasks = [(seed, i, ids[i], spec, str(out), cfg, render_videos) for i in range(num_videos)]
    clip_tasks = []
    for split, per_class in (
        ("train", spec.clips_per_class_train),
        ("val", spec.clips_per_class_val),
    ):
        for _ in range(per_class):
            for name in CLIP_CLASSES:
                clip_tasks.append((split, name))
    if not render_videos:
        clip_tasks = []
    clip_args = [(seed, i, name, spec, str(out)) for i, (_, name) in enumerate(clip_tasks)]
    with tqdm(
        total=len(video_tasks) + len(clip_args),
        desc=f"synth {preset}",
        disable=not progress,
        unit="video",
    ) as bar:
        videos = _map(_render_video, video_tasks, workers, bar)
        clips = _map(_render_clip, clip_args, workers, bar)
    ann = out / "annotations"
    written: list[str] = []
    index_of = label_map().index_of()
    splits = {"train": videos[: spec.train_videos], "val": videos[spec.train_videos :]}
    counts: dict[str, Counter] = {}
    for split, results in splits.items():
        rows = [row for result in results for row in result.rows]
        frame = _rows_frame(rows)
        write_ground_truth(frame, ann / f"{split}.csv")
        write_excluded_timestamps(
            [(r.video_id, t) for r in results for t in r.excluded],
            ann / f"{split}_excluded_timestamps.csv",
        )
        counts[split] = Counter(frame["action_id"].tolist())
        written += [f"annotations/{split}.csv", f"annotations/{split}_excluded_timestamps.csv"]
        if render_videos:
            with atomic_write(out / "clips" / f"{split}.csv") as handle:
                for (clip_split, _), (path, name, _) in zip(clip_tasks, clips):
                    if clip_split == split:
                        handle.write(f"{path},{index_of[action_id(name)]}\n")
        if render_videos:
            written.append(f"clips/{split}.csv")
    write_label_map(label_map(), ann / "label_map.pbtxt")
    written.append("annotations/label_map.pbtxt")
    if render_videos:
        written += [f"videos/{r.video_id}.mp4" for r in videos]
    written += [path for path, _, _ in clips]
    summary = _summary(spec, seed, videos, counts, len(clips))
    with atomic_write(out / "README.md") as handle:
        handle.write(_readme(spec, seed, splits, counts, summary, render_videos))
    written.append("README.md")
    for stale in sorted(set(old_files) - set(written) - {MANIFEST}):
        stale_path = out / stale
        if stale_path.is_file():
            stale_path.unlink()
    with atomic_write(out / MANIFEST) as handle:
        manifest = {
            "format_version": FORMAT_VERSION,
            "preset": asdict(spec),
            "seed": seed,
            "videos_rendered": render_videos,
        }
        handle.write(json.dumps(manifest | {"files": sorted(written)}, indent=1) + "\n")
    elapsed = time.perf_counter() - started
    cpu = sum(v.cpu_seconds for v in videos) + sum(c[2] for c in clips)
    if progress:
        print(f"{summary} in {elapsed:.1f} s ({cpu:.1f} CPU-s in {workers} process(es)) -> {out}")
    return out


def _summary(
    spec: Preset, seed: int, videos: list[VideoResult], counts: dict[str, Counter], clips: int
) -> str:
    total = counts["train"] + counts["val"]
    frames = sum(v.frames for v in videos)
    present = [total[c.action_id] for c in CLASSES if total.get(c.action_id, 0) > 0]
    absent = len(CLASSES) - len(present)
    ratio = max(present, default=0) / max(1, min(present, default=1))
    tail = f"head/rarest class {ratio:.0f}x" + (f" ({absent} classes absent)" if absent else "")
    instances = sum(len({(r[0], r[1], r[7]) for r in v.rows}) for v in videos)
    return (
        f"synth {spec.name} seed {seed}: {len(videos)} videos ({frames} frames), "
        f"{instances} person instances, {sum(total.values())} labels, "
        f"{tail}, {clips} clips"
    )


def _readme(
    spec: Preset,
    seed: int,
    splits: dict[str, list[VideoResult]],
    counts: dict[str, Counter],
    summary: str,
    rendered: bool,
) -> str:
    lines = [
        f"# avaloc synthetic AVA miniature (preset `{spec.name}`, seed {seed})",
        "",
        "Generated by `avaloc synth` (see docs/synthetic.md in the avaloc repository).",
        "",
        summary + ".",
        "",
        "## Layout",
        "",
        f"- `videos/<video_id>.mp4`: H.264 (yuv420p), {FPS} fps, {spec.width}x{spec.height}, "
        f"{spec.seconds} s each ({spec.seconds * FPS} frames). Video time starts at 0 s.",
        "- `annotations/train.csv`, `annotations/val.csv`: AVA ground truth "
        "`video_id,timestamp,x1,y1,x2,y2,action_id,person_id`, boxes normalized to [0, 1], "
        "one row per (person, action); person_id is the person's track id within the video.",
        f"- Keyframes: integer seconds t = 1 .. {spec.seconds - 2}; keyframe t is frame "
        f"round(t * {FPS}). There is at least 1 s of video before the first and after the last "
        "keyframe, so a 2-second window around every keyframe lies inside the video.",
        "- `annotations/label_map.pbtxt`: the 20 classes (`item { name id label_type }`).",
        "- `annotations/{train,val}_excluded_timestamps.csv`: keyframes where a person is only "
        "partly in view (entering or leaving); they have no ground-truth rows.",
        "- `clips/train.csv`, `clips/val.csv`: clip classification, no header, one "
        "`path,label` a line; `path` is relative to this folder (`clips/videos/*.mp4`, "
        f"{spec.clip_width}x{spec.clip_height}, {spec.clip_frames} frames) and `label` is the "
        "0-based index of the class in label_map.pbtxt order.",
        f"- `{MANIFEST}`: preset, seed and the list of generated files.",
        "",
        "## Videos",
        "",
    ]
    for split, results in splits.items():
        lines.append(f"- {split}: " + ", ".join(f"`{r.video_id}`" for r in results))
    lines += ["", "## Labels per class", "", "| id | class | train | val |", "|---|---|---|---|"]
    for c in CLASSES:
        lines.append(
            f"| {c.action_id} | {c.name} | {counts['train'].get(c.action_id, 0)} | "
            f"{counts['val'].get(c.action_id, 0)} |"
        )
    if not rendered:
        lines += ["", "Generated with `--annotations-only`: no videos or clips were written."]
    lines.append("")
    return "\n".join(lines)
