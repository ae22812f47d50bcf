"""Speed of the co-occurrence matrix and the CP-IA replication rule on an AVA-v2.2-train-shaped set.

The real ``ava_train_v2.2.csv`` is not on this machine, so this script GENERATES a file of the
same shape (235 videos x 897 keyframes, ~840k rows) with AVA-like label structure: one pose class
per person (stand/sit/walk dominant), 0-3 object interactions (carry/hold, touch dominant),
0-3 person interactions (watch, talk to, listen to dominant), long Zipf tails, pose-dependent
co-occurrence. Its class frequencies are ASSUMED, not published AVA counts.

    .venv/bin/python benchmarks/bench_balance.py [--write-csv /tmp/ava_like_train.csv]

Prints the time of each COM implementation (matmul vs pair bincount, same process) and of CP-IA.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_formats import timed  # the same best-of-N timer as the formats benchmark

from avaloc.balance import cooccurrence_matrix, cpia_repeats, epoch_composition
from avaloc.balance.config import BalanceConfig
from avaloc.balance.cooccurrence import cooccurrence_matrix_matmul
from avaloc.formats import group_instances, write_ground_truth

POSE = list(range(1, 15))
OBJECT = list(range(15, 64))
PERSON = list(range(64, 81))
# Assumed dominant classes (AVA ids): pose stand 12, sit 11, walk 14; object carry/hold 17,
# touch 59; person watch 80, talk to 79, listen to 74.
POSE_HEAD = {12: 0.48, 11: 0.33, 14: 0.12, 8: 0.02, 1: 0.015}
OBJECT_HEAD = {17: 0.42, 59: 0.17, 15: 0.04, 29: 0.035, 27: 0.03, 49: 0.03, 48: 0.02, 28: 0.02}
PERSON_HEAD = {80: 0.40, 79: 0.30, 74: 0.22}
TOP_TAIL_SHARE = 0.02  # the most frequent tail class, as a share of its group's labels


def _class_weights(ids: list[int], head: dict[int, float], rng: np.random.Generator) -> np.ndarray:
    """Head classes get their share; the rest share the remainder along a Zipf tail whose
    exponent makes the first tail class hold TOP_TAIL_SHARE (so the tail stays below the head)."""
    tail = [c for c in ids if c not in head]
    remainder = 1.0 - sum(head.values())
    ranks = np.arange(1.0, len(tail) + 1)
    low, high = 0.0, 6.0
    for _ in range(60):  # bisection: a larger exponent concentrates the tail on its first class
        exponent = (low + high) / 2
        top = remainder / (ranks**-exponent).sum()
        low, high = (low, exponent) if top > TOP_TAIL_SHARE else (exponent, high)
    tail_weights = remainder * ranks**-exponent / (ranks**-exponent).sum()
    weights = dict(zip(np.asarray(tail)[rng.permutation(len(tail))].tolist(), tail_weights))
    weights.update(head)
    return np.array([weights[c] for c in ids])


def _draw(rng: np.random.Generator, ids: list[int], weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights / weights.sum())
    return np.asarray(ids)[np.minimum(np.searchsorted(cdf, rng.random(size)), len(ids) - 1)]


def generate_ava_like_rows(seed: int = 0, videos: int = 235, keyframes: int = 897) -> pd.DataFrame:
    """GT rows of an AVA-v2.2-train-shaped set (see the module docstring: generated, not real)."""
    rng = np.random.default_rng(seed)
    persons = 1 + rng.poisson(0.55, size=videos * keyframes)
    persons = np.minimum(persons, 6)
    n = int(persons.sum())
    keyframe_of = np.repeat(np.arange(videos * keyframes), persons)
    slot = np.arange(n) - np.repeat(np.cumsum(persons) - persons, persons)
    video_index, second = np.divmod(keyframe_of, keyframes)
    pose = _draw(rng, POSE, _class_weights(POSE, POSE_HEAD, rng), n)
    object_base = _class_weights(OBJECT, OBJECT_HEAD, rng)
    person_base = _class_weights(PERSON, PERSON_HEAD, rng)
    owners = [np.arange(n)]
    actions = [pose]
    for base, ids, count_probs in (
        (object_base, OBJECT, [0.50, 0.42, 0.07, 0.01]),
        (person_base, PERSON, [0.25, 0.45, 0.25, 0.05]),
    ):
        how_many = rng.choice(4, size=n, p=count_probs)
        for p in POSE:
            tilt = rng.lognormal(0.0, 0.5, size=len(ids))  # pose-dependent co-occurrence
            members = np.flatnonzero(pose == p)
            owner = np.repeat(members, how_many[members])
            owners.append(owner)
            actions.append(_draw(rng, ids, base * tilt, owner.size))
    owner = np.concatenate(owners)
    action = np.concatenate(actions)
    x1 = np.round(0.02 + 0.16 * slot + 0.03 * rng.random(n), 3)
    y1 = np.round(0.05 + 0.2 * rng.random(n), 3)
    frame = pd.DataFrame(
        {
            "video_id": np.char.add("vid", np.char.zfill(video_index.astype(str), 4))[owner],
            "timestamp": (902 + second)[owner],
            "x1": x1[owner],
            "y1": y1[owner],
            "x2": np.round(x1 + 0.12, 3)[owner],
            "y2": np.round(y1 + 0.6, 3)[owner],
            "action_id": action,
            "person_id": slot[owner],
        }
    )
    frame = frame.drop_duplicates(["video_id", "timestamp", "x1", "y1", "action_id"])
    return frame.sort_values(["video_id", "timestamp", "x1", "action_id"]).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-csv", type=Path, help="also write the generated GT CSV here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = generate_ava_like_rows(args.seed)
    print(
        f"generated {len(rows)} rows (AVA-v2.2-train-shaped, GENERATED) in "
        f"{time.perf_counter() - start:.1f} s"
    )
    if args.write_csv:
        write_ground_truth(rows, args.write_csv)
        print(f"wrote {args.write_csv}")
    start = time.perf_counter()
    instances = group_instances(rows)
    print(f"group_instances: {len(instances)} instances in {time.perf_counter() - start:.2f} s")
    class_ids = list(range(1, 81))
    t_pairs, com = timed(lambda: cooccurrence_matrix(instances, class_ids), 3)
    t_matmul, com_matmul = timed(lambda: cooccurrence_matrix_matmul(instances, class_ids), 3)
    assert np.array_equal(com, com_matmul)
    print(f"COM pair bincount (cooccurrence_matrix): {t_pairs:.3f} s")
    print(
        f"COM dense X^T X (float64 BLAS):          {t_matmul:.3f} s  (bincount is "
        f"{t_matmul / t_pairs:.1f}x faster)"
    )
    config = BalanceConfig()
    target = config.resolved_target(len(instances.label_ids))
    t_cpia, _ = timed(lambda: cpia_repeats(instances, class_ids, target, config.cpia_max_repeat), 3)
    print(f"cpia_repeats (greedy, target {target} = 1 % of the labels): {t_cpia:.3f} s")
    t_epoch, composition = timed(lambda: epoch_composition(instances, class_ids, config), 1)
    print(f"epoch_composition (COM, CP-IA, LS, measures): {t_epoch:.3f} s")
    measures = composition.measures
    print(
        f"diagonal max/min ratio {measures.before.max_min_ratio:.1f} -> "
        f"{measures.after.max_min_ratio:.1f}, median row cosine "
        f"{measures.median_row_cosine:.3f}, min {measures.min_row_cosine:.3f}"
    )


if __name__ == "__main__":
    main()
