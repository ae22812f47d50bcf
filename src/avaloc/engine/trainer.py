"""The training loop: SGD with a per-iteration LR, AMP, DDP, checkpoints, resume, validation.

One loop serves both tasks (see :mod:`avaloc.engine.task`). Exact resume: the sample order of an
epoch is a function of ``(seed, epoch)``, the checkpoint records how many iterations of the epoch
are done, and the global torch RNG (dropout) is saved and restored, so a run killed at any point
and resumed from its last checkpoint ends with the same weights as an uninterrupted one
(bit-identical on CPU in deterministic mode; see ``tests/engine/test_resume.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from avaloc.config import config_to_dict
from avaloc.engine.checkpoint import (
    capture_rng_state,
    checkpoint_dir,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
    step_checkpoint_path,
    unwrap,
)
from avaloc.engine.config import (
    RunConfig,
    best_metric_name,
    run_config_to_dict,
    validate_run_config,
)
from avaloc.engine.distributed import (
    DistInfo,
    EpochSampler,
    all_reduce_mean,
    barrier,
    init_distributed,
)
from avaloc.engine.logs import MetricsLogger
from avaloc.engine.optim import build_optimizer
from avaloc.engine.schedule import lr_at_epoch, set_lr
from avaloc.engine.task import Task
from avaloc.engine.weights import load_pretrained_weights
from avaloc.errors import InputError
from avaloc.seeding import seed_sequence, torch_generator

_LOADER_STREAM = 1
_DROPOUT_STREAM = 2


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the run stopped before the bad update."""


@dataclass
class TrainResult:
    run_dir: Path
    global_step: int
    epochs_done: int
    first_loss: float | None = None
    last_loss: float | None = None
    best_metric: float | None = None
    best_checkpoint: Path | None = None
    last_checkpoint: Path | None = None
    validations: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _seed_int(seed: int, *streams: int) -> int:
    return int(seed_sequence(seed, *streams).generate_state(1, dtype="uint64")[0] >> 1)


def _autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager:
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _set_bn_eval(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _freeze_bn_params(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for param in module.parameters(recurse=False):
                param.requires_grad_(False)


def build_task(config: RunConfig) -> Task:
    from avaloc.engine.tasks import make_task

    return make_task(config)


def _config_differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for key in keys:
        path = f"{prefix}{key}"
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            out += _config_differences(a[key], b[key], path + ".")
        elif a.get(key) != b.get(key):
            out.append(path)
    return out


def _gather_rng_states(info: DistInfo) -> list[dict[str, Any]]:
    """Every rank's global RNG state, on every rank (a collective call under DDP)."""
    state = capture_rng_state()
    if not info.distributed:
        return [state]
    import torch.distributed as dist

    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, state)
    return gathered


class _Checkpointer:
    """Rank-0 checkpoint writing: periodic files, pruning, and the best one."""

    def __init__(self, run_dir: Path, config: RunConfig, info: DistInfo, *, resumed: bool) -> None:
        self.run_dir = run_dir
        self.config = config
        self.info = info
        self.run_config = run_config_to_dict(config)
        self.last: Path | None = None
        self.best: Path | None = None
        if resumed:  # a resumed run with nothing left to do still reports its checkpoints
            self.last = latest_checkpoint(run_dir)
            best = checkpoint_dir(run_dir) / "best.pt"
            self.best = best if best.is_file() else None

    def state(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        *,
        epoch: int,
        iteration: int,
        global_step: int,
        iterations_per_epoch: int,
        best: float | None,
    ) -> dict[str, Any]:
        bare = unwrap(model)
        resolved = getattr(bare, "config", None)
        return {
            "model_state": bare.state_dict(),
            # the resolved architecture (no registry defaults left), so it rebuilds exactly
            "model_config": (
                config_to_dict(resolved)
                if dataclasses.is_dataclass(resolved)
                else self.run_config["model"]
            ),
            "run_config": self.run_config,
            "optimizer_state": optimizer.state_dict(),
            "scheduler_state": {
                "epoch": epoch,
                "iteration": iteration,
                "iterations_per_epoch": iterations_per_epoch,
                "lr": optimizer.param_groups[0]["lr"],
            },
            "scaler_state": scaler.state_dict() if scaler.is_enabled() else {},
            # one RNG state per rank (dropout draws differ across ranks), rank order
            "rng_states": _gather_rng_states(self.info),
            "epoch": epoch,
            "iteration": iteration,
            "global_step": global_step,
            "world_size": self.info.world_size,
            "best_metric": best,
        }

    def save(self, state: dict[str, Any]) -> Path | None:
        if not self.info.is_main:
            return None
        path = save_checkpoint(state, step_checkpoint_path(self.run_dir, state["global_step"]))
        prune_checkpoints(self.run_dir, self.config.train.keep_last)
        self.last = path
        return path

    def save_best(self, state: dict[str, Any]) -> Path | None:
        if not self.info.is_main:
            return None
        self.best = save_checkpoint(state, checkpoint_dir(self.run_dir) / "best.pt")
        return self.best


def train(
    config: RunConfig,
    run_dir: str | os.PathLike,
    *,
    resume: bool = False,
    task: Task | None = None,
) -> TrainResult:
    """Train ``config`` into ``run_dir``; with ``resume`` continue from its latest checkpoint.

    Runs as one process or as one rank of a torchrun job (see docs/training.md).
    """
    validate_run_config(config)
    started = time.perf_counter()
    run_dir = Path(run_dir)
    train_cfg, optim_cfg = config.train, config.optim
    info = init_distributed(train_cfg.device)
    device = info.device
    if train_cfg.amp == "fp16" and device.type != "cuda":
        raise InputError("fp16 autocast needs CUDA; use bf16 on CPU", key="train.amp")
    if train_cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = False
    task = task or build_task(config)
    config = task.prepare(config)

    checkpoint_state: dict[str, Any] | None = None
    if not resume and latest_checkpoint(run_dir) is not None:
        raise InputError(
            "already holds checkpoints of a run: continue it with --resume (resume=True) or "
            "train into another directory",
            path=run_dir,
        )
    if resume:
        found = latest_checkpoint(run_dir)
        if found is not None:
            checkpoint_state = load_checkpoint(found)
            if checkpoint_state["world_size"] != info.world_size:
                raise InputError(
                    f"checkpoint was written with world size {checkpoint_state['world_size']}, "
                    f"this run has {info.world_size}: exact resume needs the same world size",
                    path=found,
                )
            changed = _config_differences(
                checkpoint_state["run_config"], run_config_to_dict(config)
            )
            if changed and info.is_main:
                print(
                    f"resume: config differs from the checkpoint's in {', '.join(changed)}",
                    file=sys.stderr,
                )
        elif info.is_main:
            print(f"resume: no checkpoint in {run_dir}, starting from scratch", file=sys.stderr)

    torch.manual_seed(_seed_int(train_cfg.seed))  # identical initial weights on every rank
    model = task.build_model(config)
    if train_cfg.init_checkpoint and checkpoint_state is None:
        report = load_pretrained_weights(model, train_cfg.init_checkpoint)
        if info.is_main:
            print(report, file=sys.stderr)
    if train_cfg.freeze_bn:
        _freeze_bn_params(model)
    if train_cfg.sync_bn and info.distributed:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    optimizer = build_optimizer(model, optim_cfg)
    scaler = torch.amp.GradScaler(device.type, enabled=train_cfg.amp == "fp16")

    dataset = task.train_dataset(config)
    sampler = EpochSampler(
        len(dataset),
        train_cfg.batch_size,
        seed=train_cfg.seed,
        rank=info.rank,
        world_size=info.world_size,
    )
    iterations = sampler.iterations_per_epoch
    if iterations == 0:
        raise InputError(
            f"the training set has {len(dataset)} samples, fewer than one global batch "
            f"({train_cfg.batch_size} x {info.world_size} processes)",
            key="train.batch_size",
        )

    epoch, start_iteration, global_step = 0, 0, 0
    best: float | None = None
    if checkpoint_state is not None:
        unwrap(model).load_state_dict(checkpoint_state["model_state"])
        optimizer.load_state_dict(checkpoint_state["optimizer_state"])
        if scaler.is_enabled() and checkpoint_state["scaler_state"]:
            scaler.load_state_dict(checkpoint_state["scaler_state"])
        epoch = checkpoint_state["epoch"]
        start_iteration = checkpoint_state["iteration"]
        global_step = checkpoint_state["global_step"]
        best = checkpoint_state.get("best_metric")
        if checkpoint_state["scheduler_state"]["iterations_per_epoch"] != iterations:
            raise InputError("the training set changed size since the checkpoint; cannot resume")
        restore_rng_state(checkpoint_state["rng_states"][info.rank])
    else:
        torch.manual_seed(_seed_int(train_cfg.seed, _DROPOUT_STREAM, info.rank))

    ddp_model: nn.Module = model
    if info.distributed:
        ddp_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    checkpointer = _Checkpointer(run_dir, config, info, resumed=checkpoint_state is not None)
    logger = MetricsLogger(
        run_dir,
        enabled=info.is_main,
        resume_step=global_step,
    )
    if info.is_main:
        from avaloc.config import save_config

        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.yaml")

    result = TrainResult(run_dir=run_dir, global_step=global_step, epochs_done=epoch)
    result.best_metric = best
    total_steps = optim_cfg.max_epoch * iterations
    if train_cfg.max_iters:
        total_steps = min(total_steps, train_cfg.max_iters)

    def make_state(ep: int, it: int) -> dict[str, Any]:
        return checkpointer.state(
            model,
            optimizer,
            scaler,
            epoch=ep,
            iteration=it,
            global_step=global_step,
            iterations_per_epoch=iterations,
            best=best,
        )

    best_name = best_metric_name(config)
    stop = global_step >= total_steps
    if train_cfg.eval_at_start and checkpoint_state is None:
        metrics = _validate(task, model, config, device, info)
        if info.is_main:
            logger.log("val", 0, epoch=0, **metrics)
            result.validations.append({"epoch": 0, "step": 0, **metrics})
            parts = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            print(f"initial weights: validation {parts}", file=sys.stderr)
    try:
        while epoch < optim_cfg.max_epoch and not stop:
            sampler.set_epoch(epoch, start_iteration)
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            loader = DataLoader(
                dataset,
                batch_size=train_cfg.batch_size,
                sampler=sampler,
                collate_fn=task.collate,
                num_workers=train_cfg.num_workers,
                generator=torch_generator(train_cfg.seed, _LOADER_STREAM, epoch),
                pin_memory=device.type == "cuda",
            )
            ddp_model.train()
            if train_cfg.freeze_bn:
                _set_bn_eval(ddp_model)
            bar = tqdm(
                total=iterations,
                initial=start_iteration,
                desc=f"epoch {epoch + 1}/{optim_cfg.max_epoch}",
                disable=not (info.is_main and train_cfg.progress),
                dynamic_ncols=True,
                leave=False,
            )
            window_start, window_clips = time.perf_counter(), 0
            done_in_epoch = start_iteration
            for iteration, batch in enumerate(loader, start=start_iteration):
                lr = lr_at_epoch(optim_cfg, epoch + iteration / iterations)
                set_lr(optimizer, lr)
                batch = _to_device(batch, device)
                with _autocast(train_cfg.amp, device):
                    loss, clips = task.loss(ddp_model, batch, device)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                mean_loss = float(all_reduce_mean(loss.detach().float()))
                if not math.isfinite(mean_loss):
                    last = checkpointer.last or latest_checkpoint(run_dir)
                    raise TrainingDivergedError(
                        f"loss is {mean_loss} at epoch {epoch + 1}, iteration {iteration + 1} "
                        f"(step {global_step + 1}); stopped before updating the weights. Last good "
                        f"checkpoint: {last if last else 'none yet'}. Lower optim.base_lr or set "
                        "optim.clip_grad_norm."
                    )
                if optim_cfg.clip_grad_norm > 0:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), optim_cfg.clip_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                global_step += 1
                window_clips += clips * info.world_size
                if result.first_loss is None:
                    result.first_loss = mean_loss
                result.last_loss = mean_loss
                bar.update(1)
                last_of_epoch = iteration + 1 == iterations
                if (
                    global_step % train_cfg.log_period == 0
                    or last_of_epoch
                    or global_step >= total_steps
                ):
                    elapsed = max(time.perf_counter() - window_start, 1e-9)
                    speed = window_clips / elapsed
                    logger.log(
                        "train",
                        global_step,
                        epoch=epoch + 1,
                        loss=mean_loss,
                        lr=lr,
                        clips_per_s=speed,
                    )
                    bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{lr:.3g}", clips_s=f"{speed:.1f}")
                    window_start, window_clips = time.perf_counter(), 0
                done_in_epoch = iteration + 1
                stop = global_step >= total_steps
                every = train_cfg.checkpoint_every_iters
                if every and done_in_epoch % every == 0 and done_in_epoch < iterations and not stop:
                    checkpointer.save(make_state(epoch, done_in_epoch))
                    logger.flush()
                if stop:
                    break
            bar.close()
            epoch_finished = done_in_epoch == iterations
            if epoch_finished:
                epoch, start_iteration = epoch + 1, 0
            else:
                start_iteration = done_in_epoch
            last_epoch = epoch >= optim_cfg.max_epoch
            end_of_run = last_epoch or stop
            period = train_cfg.eval_period
            metrics: dict[str, float] | None = None
            if period and (end_of_run or (epoch_finished and epoch % period == 0)):
                metrics = _validate(task, model, config, device, info)
                if info.is_main:
                    logger.log("val", global_step, epoch=epoch, **metrics)
                    result.validations.append({"epoch": epoch, "step": global_step, **metrics})
                    parts = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                    print(f"epoch {epoch}: validation {parts}", file=sys.stderr)
            improved = False
            if metrics and best_name in metrics:
                value = metrics[best_name]
                if best is None or value > best:
                    best, improved = value, True
            period = train_cfg.checkpoint_period
            if end_of_run or (period and epoch_finished and epoch % period == 0) or improved:
                state = make_state(epoch, start_iteration)
                if end_of_run or (period and epoch % period == 0):
                    checkpointer.save(state)
                if improved:
                    checkpointer.save_best(state)
            logger.flush()
    finally:
        logger.close()
    result.global_step = global_step
    result.epochs_done = epoch
    result.best_metric = best
    result.last_checkpoint = checkpointer.last
    result.best_checkpoint = checkpointer.best
    result.seconds = time.perf_counter() - started
    if info.is_main:
        print(_summary(result), file=sys.stderr)
    return result


def _validate(
    task: Task, model: nn.Module, config: RunConfig, device: torch.device, info: DistInfo
) -> dict[str, float]:
    """Rank 0 validates the bare model (others get ``{}`` and wait at a barrier)."""
    metrics: dict[str, float] = {}
    if info.is_main:
        was_training = model.training
        model.eval()
        with torch.no_grad(), _autocast(config.train.amp, device):
            metrics = task.validate(model, config, device)
        model.train(was_training)
    barrier()
    return metrics


def _to_device(batch: Any, device: torch.device) -> Any:
    from avaloc.engine.task import move_to

    return batch if device.type == "cpu" else move_to(batch, device)


def _summary(result: TrainResult) -> str:
    parts = [
        f"trained {result.global_step} iterations ({result.epochs_done} epochs) in "
        f"{result.seconds:.1f} s"
    ]
    if result.first_loss is not None:
        parts.append(f"loss {result.first_loss:.4f} -> {result.last_loss:.4f}")
    if result.best_metric is not None:
        parts.append(f"best validation {result.best_metric:.4f}")
    if result.last_checkpoint is not None:
        parts.append(f"last checkpoint {result.last_checkpoint}")
    return "; ".join(parts)
