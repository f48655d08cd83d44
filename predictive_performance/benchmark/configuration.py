"""One configuration to measure: model, platform, batch size, precision, mode and input sizes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from predictive_performance.benchmark.architectures import get_architecture


@dataclass(frozen=True)
class BenchmarkConfig:
    """One configuration to measure (canonical names; the schema in docs/architecture.md)."""

    model_name: str
    hardware_platform: str = "cpu"
    batch_size: int = 1
    precision: str = "fp32"
    mode: str = "inference"
    sequence_length: int | None = None
    image_size: int | None = None

    @classmethod
    def from_mapping(cls, row: Mapping) -> BenchmarkConfig:
        def optional_int(value):
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                return None
            return int(value)

        return cls(
            model_name=str(row["model_name"]),
            hardware_platform=str(row.get("hardware_platform") or "cpu").lower(),
            batch_size=int(row.get("batch_size") or 1),
            precision=str(row.get("precision") or "fp32").lower(),
            mode=str(row.get("mode") or "inference").lower(),
            sequence_length=optional_int(row.get("sequence_length")),
            image_size=optional_int(row.get("image_size")),
        )

    def resolved(self) -> BenchmarkConfig:
        """Catalog model name and the input sizes the architecture uses (defaults filled in).

        Raises ``UnknownArchitectureError`` for a model the runner cannot build.
        """
        spec = get_architecture(self.model_name)
        sequence = self.sequence_length if spec.uses_sequence_length else None
        image = self.image_size if spec.uses_image_size else None
        if spec.uses_sequence_length and sequence is None:
            sequence = spec.default_sequence_length()
        if spec.uses_image_size and image is None:
            image = spec.default_image_size()
        return replace(self, model_name=spec.name, sequence_length=sequence, image_size=image)

    @property
    def label(self) -> str:
        shape = f" s{self.sequence_length}" if self.sequence_length else ""
        shape += f" {self.image_size}px" if self.image_size else ""
        return f"{self.model_name} {self.hardware_platform} {self.precision} {self.mode} b{self.batch_size}{shape}"

    def as_dict(self) -> dict:
        return {
            "model_name": self.model_name,
            "hardware_platform": self.hardware_platform,
            "batch_size": self.batch_size,
            "precision": self.precision,
            "mode": self.mode,
            "sequence_length": self.sequence_length,
            "image_size": self.image_size,
        }
