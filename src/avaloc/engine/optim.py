"""SGD as PySlowFast builds it: momentum, Nesterov, and separate weight decay for norm layers.

PySlowFast's ``construct_optimizer`` puts the parameters of every batch-norm layer in a group
with ``BN.WEIGHT_DECAY`` (0 by default), all other parameters in a group with
``SOLVER.WEIGHT_DECAY``, and, only if ``ZERO_WD_1D_PARAM`` is set, biases and other 1-D
parameters in a group without decay. Biases of convolutions and linear layers therefore keep the
weight decay by default; ``zero_wd_1d_params`` reproduces the option.
"""

from __future__ import annotations

import torch
from torch import nn

from avaloc.engine.config import OptimConfig

_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def parameter_groups(model: nn.Module, cfg: OptimConfig) -> list[dict]:
    """Split trainable parameters into (norm, decayed, no-decay 1-D) groups; empty ones dropped."""
    norm_params: list[nn.Parameter] = []
    decayed: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    seen: set[int] = set()
    for module in model.modules():
        is_norm = isinstance(module, _NORM_TYPES)
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            if is_norm:
                norm_params.append(param)
            elif cfg.zero_wd_1d_params and (param.ndim <= 1 or name.endswith("bias")):
                no_decay.append(param)
            else:
                decayed.append(param)
    groups = [
        {"params": norm_params, "weight_decay": cfg.bn_weight_decay, "group": "norm"},
        {"params": decayed, "weight_decay": cfg.weight_decay, "group": "decay"},
        {"params": no_decay, "weight_decay": 0.0, "group": "no_decay"},
    ]
    return [group for group in groups if group["params"]]


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.SGD:
    """SGD with momentum and (by default) Nesterov, as PySlowFast's ``sgd`` method."""
    return torch.optim.SGD(
        parameter_groups(model, cfg),
        lr=cfg.base_lr,
        momentum=cfg.momentum,
        dampening=cfg.dampening,
        nesterov=cfg.nesterov,
        weight_decay=cfg.weight_decay,
    )
