"""TEMPORARY stand-ins for stage configs that have not landed yet (removed once they exist)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    root: str = ""


@dataclass
class ModelConfig:
    name: str = "toy"
    num_classes: int = 80


@dataclass
class BalanceConfig:
    cpia: bool = False
    ls: bool = False
