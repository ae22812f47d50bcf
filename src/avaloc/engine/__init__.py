"""Training engine: typed run configs, SGD schedules, checkpoints and resume, DDP, logs.

``train(config, run_dir, resume=...)`` runs clip-classification pre-training or detection
fine-tuning (``config.train.task``) as one process or as one rank of a torchrun job;
``load_model_from_checkpoint`` rebuilds a trained model for prediction.
"""

from avaloc.engine.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from avaloc.engine.config import (
    OptimConfig,
    RunConfig,
    TrainConfig,
    load_run_config,
    run_config_from_dict,
    run_config_to_dict,
)
from avaloc.engine.distributed import DistInfo, EpochSampler, init_distributed
from avaloc.engine.optim import build_optimizer, parameter_groups
from avaloc.engine.plotting import plot_log
from avaloc.engine.schedule import lr_at_epoch
from avaloc.engine.trainer import TrainingDivergedError, TrainResult, train
from avaloc.engine.weights import (
    load_matching_state,
    load_model_from_checkpoint,
    load_pretrained_weights,
)

__all__ = [
    "DistInfo",
    "EpochSampler",
    "OptimConfig",
    "RunConfig",
    "TrainConfig",
    "TrainResult",
    "TrainingDivergedError",
    "build_optimizer",
    "init_distributed",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_matching_state",
    "load_model_from_checkpoint",
    "load_pretrained_weights",
    "load_run_config",
    "lr_at_epoch",
    "parameter_groups",
    "plot_log",
    "run_config_from_dict",
    "run_config_to_dict",
    "save_checkpoint",
    "train",
]
