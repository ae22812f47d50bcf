"""SlowFast networks with RoI and classification heads, a registry, and checkpoint import."""

from avaloc.models.config import ModelConfig
from avaloc.models.inference import (
    InferenceSettings,
    choose_inference_settings,
    predict_logits,
    prepare_for_inference,
)
from avaloc.models.inflate import InflationReport, inflate_resnet2d
from avaloc.models.pretrained import load_pretrained
from avaloc.models.pyslowfast import (
    PySlowFastImport,
    config_from_pyslowfast_cfg,
    import_pyslowfast_checkpoint,
    load_pyslowfast_checkpoint,
    pyslowfast_to_avaloc_key,
)
from avaloc.models.registry import (
    build_model,
    count_parameters,
    describe_model,
    list_models,
    resolve_config,
    slowfast_r50_classification,
    slowfast_r50_detection,
    slowfast_r101_classification,
    slowfast_r101_detection,
)
from avaloc.models.slowfast import SlowFast
from avaloc.models.weights import (
    LoadReport,
    adapt_checkpoint_classes,
    load_model_checkpoint,
    load_state,
    model_from_checkpoint,
    read_checkpoint,
    replace_classifier,
    save_model_checkpoint,
)

__all__ = [
    "InferenceSettings",
    "InflationReport",
    "LoadReport",
    "ModelConfig",
    "PySlowFastImport",
    "SlowFast",
    "adapt_checkpoint_classes",
    "build_model",
    "choose_inference_settings",
    "config_from_pyslowfast_cfg",
    "count_parameters",
    "describe_model",
    "import_pyslowfast_checkpoint",
    "inflate_resnet2d",
    "list_models",
    "load_model_checkpoint",
    "load_pretrained",
    "load_pyslowfast_checkpoint",
    "load_state",
    "model_from_checkpoint",
    "predict_logits",
    "prepare_for_inference",
    "pyslowfast_to_avaloc_key",
    "read_checkpoint",
    "replace_classifier",
    "resolve_config",
    "save_model_checkpoint",
    "slowfast_r50_classification",
    "slowfast_r50_detection",
    "slowfast_r101_classification",
    "slowfast_r101_detection",
]
