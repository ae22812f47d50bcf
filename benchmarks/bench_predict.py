"""Prediction speed: keyframes/s for 1 vs 3 test scales, 1 vs 2 models, PyTorch vs onnxruntime.

Data: the synthetic ``tiny`` preset (rendered into a temporary folder), its train split with
ground-truth boxes. Models: slim SlowFast R50 (width 8, 8 fast / 2 slow frames), two random
initialisations saved as avaloc checkpoints and exported to ONNX; speed does not depend on the
weights. Scales: 112 (the synthetic configs' test scale) and 112,128,160 (the report's
224,256,320 halved). Every figure is one whole ``predict_split`` run (decoding, model, CSV),
best of ``--repeat`` interleaved rounds, in this process; ratios are against the 1-scale,
1-model PyTorch run.

    .venv/bin/python benchmarks/bench_predict.py [--repeat 3] [--threads 2]

On a shared CPU the absolute figures move with the load; the ratios are the useful part.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from avaloc.config import config_to_dict
from avaloc.data import DataConfig
from avaloc.engine.checkpoint import save_checkpoint
from avaloc.engine.config import RunConfig, run_config_to_dict
from avaloc.engine.export import example_inputs, export_onnx
from avaloc.engine.predict import build_test_datasets, predict_split
from avaloc.formats import read_label_map
from avaloc.models import ModelConfig, build_model
from avaloc.seeding import torch_generator
from avaloc.synthetic import generate_dataset


def make_checkpoints(folder: Path, data: DataConfig, count: int) -> list[Path]:
    """``count`` slim detection checkpoints (random weights) and their ONNX exports."""
    classes = len(read_label_map(data.path(data.label_map)))
    paths = []
    for seed in range(count):
        model_config = ModelConfig(num_classes=classes, width_per_group=8)
        model = build_model(model_config, generator=torch_generator(seed)).eval()
        config = run_config_to_dict(RunConfig(data=data, model=model_config))
        path = folder / f"model{seed}.pt"
        state = {
            "model_state": model.state_dict(),
            "model_config": config_to_dict(model.config),
            "run_config": config,
        }
        save_checkpoint(state, path)
        inputs = example_inputs(2, 8, 112, 149)
        export_onnx(model, path.with_suffix(".onnx"), inputs, metadata={"run_config": config})
        paths.append(path)
    return paths


def loader_only(data: DataConfig, scales: tuple[int, ...]) -> tuple[int, float]:
    """Decode + transform every keyframe at every scale, no model: the data share of a run."""
    datasets = build_test_datasets(data, "train", scales, gt_boxes=True)
    start = time.perf_counter()
    for index in range(len(datasets[0])):
        for dataset in datasets:
            dataset[index]
    return len(datasets[0]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the cases (best kept)")
    parser.add_argument("--threads", type=int, default=2, help="torch / onnxruntime threads")
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        folder = Path(tmp)
        root = generate_dataset(folder / "tiny", preset="tiny", seed=0, progress=False)
        data = DataConfig(
            root=str(root),
            num_frames=8,
            sampling_rate=4,
            alpha=4,
            test_scale=112,
            train_excluded=None,
        )
        checkpoints = make_checkpoints(folder, data, 2)
        one, three = (112,), (112, 128, 160)
        print(
            f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}; "
            f"data: synthetic tiny, train split, GT boxes; model: slim SlowFast R50 (width 8)"
        )
        for scales in (one, three):
            count, seconds = loader_only(data, scales)
            print(f"loader only, {len(scales)} scale(s): {count / seconds:7.2f} keyframes/s")
        cases = [
            ("pytorch", one, 1),
            ("pytorch", three, 1),
            ("pytorch", one, 2),
            ("pytorch", three, 2),
            ("onnxruntime", one, 1),
            ("onnxruntime", three, 1),
            ("onnxruntime", one, 2),
        ]
        best = {case: float("inf") for case in cases}
        keyframes = {}
        for run in range(args.repeat):  # interleaved, so a change of load hits every case
            for case in cases:
                engine, scales, models = case
                paths = checkpoints[:models]
                if engine == "onnxruntime":
                    paths = [p.with_suffix(".onnx") for p in paths]
                summary = predict_split(
                    paths, folder / f"pred_{engine}_{len(scales)}_{models}_{run}.csv",
                    config=RunConfig(data=data, model=ModelConfig(width_per_group=8)),
                    split="train", scales=scales, gt_boxes=True, engine=engine,
                    batch_size=args.batch_size, num_workers=0, progress=False,
                )  # fmt: skip
                best[case] = min(best[case], summary.seconds)
                keyframes[case] = summary.keyframes
        header = f"{'engine':<12} {'scales':<12} {'models':>6} {'keyframes':>9}"
        print(f"{header} {'kf/s':>8} {'ratio':>6}")
        baseline = keyframes[cases[0]] / best[cases[0]]
        for case in cases:
            engine, scales, models = case
            rate = keyframes[case] / best[case]
            print(
                f"{engine:<12} {','.join(map(str, scales)):<12} {models:>6} {keyframes[case]:>9} "
                f"{rate:8.2f} {rate / baseline:6.2f}"
            )


if __name__ == "__main__":
    main()
