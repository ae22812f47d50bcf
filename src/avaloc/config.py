"""Typed, validated configs: YAML files and ``key=value`` overrides checked against dataclasses.

Each stage declares its options as a dataclass; a run config composes them. Loading goes through
OmegaConf structured configs, so an unknown key or a value of the wrong type fails at load time,
and the error is turned into one :class:`~avaloc.errors.InputError` line naming the key's path.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from avaloc.errors import InputError
from avaloc.fileio import atomic_write

T = TypeVar("T")


def _error_key(exc: OmegaConfBaseException) -> str | None:
    key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
    return None if key in (None, "") else str(key)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_config(
    schema: type[T],
    path: str | os.PathLike | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    data: dict[str, Any] | None = None,
) -> T:
    """Build ``schema`` from its defaults, a YAML file, a dict, then ``key=value`` overrides.

    Raises InputError (file or key named) for unreadable YAML, unknown keys and wrong types.
    """
    source = os.fspath(path) if path is not None else "<overrides>"
    try:
        merged: DictConfig = OmegaConf.structured(schema)
    except OmegaConfBaseException as exc:  # a bug in the schema, not user input
        raise TypeError(f"invalid config schema {schema.__name__}: {exc}") from exc
    layers: list[Any] = []
    if path is not None:
        if not Path(path).is_file():
            raise InputError("config file not found", path=path)
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise InputError(
                f"not valid YAML ({_first_line(exc)})",
                path=path,
                line=None if line is None else line + 1,
            ) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise InputError("a config file must hold a mapping of keys", path=path)
        layers.append((source, loaded))
    if data:
        layers.append(("<dict>", data))
    for item in overrides:
        if "=" not in item:
            raise InputError(f"override '{item}' is not of the form key=value")
        key, value = item.split("=", 1)
        if not key.strip():
            raise InputError(f"override '{item}' has an empty key")
        layers.append((f"override '{item}'", OmegaConf.from_dotlist([f"{key.strip()}={value}"])))
    for where, layer in layers:
        try:
            merged = OmegaConf.merge(merged, layer)
        except OmegaConfBaseException as exc:
            key = _error_key(exc)
            reason = _reason(exc)
            file_path = path if where == source and path is not None else None
            prefix = "" if file_path is not None else f"{where}: "
            raise InputError(f"{prefix}{reason}", path=file_path, key=key) from None
    try:
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise InputError(_reason(exc), path=path, key=_error_key(exc)) from None


def _reason(exc: OmegaConfBaseException) -> str:
    name = type(exc).__name__
    if name == "ConfigKeyError":
        return "unknown key"
    if name == "MissingMandatoryValue":
        return "missing mandatory value"
    if name == "ValidationError":
        return _first_line(exc)
    return _first_line(exc)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of a config dataclass (for JSON, checkpoints and logs)."""
    if dataclasses.is_dataclass(config):
        return OmegaConf.to_container(OmegaConf.structured(config), resolve=True)  # type: ignore
    raise TypeError(f"expected a config dataclass, got {type(config).__name__}")


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML, atomically."""
    with atomic_write(path) as handle:
        yaml.safe_dump(config_to_dict(config), handle, sort_keys=False)
