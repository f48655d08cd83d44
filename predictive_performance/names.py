"""Model, device, precision, mode and platform names resolved exactly as the dbt project resolves them.

One source of truth: the alias seeds (``dbt/seeds/hardware_aliases.csv``, ``model_aliases.csv``) and
the spelling maps in ``dbt/dbt_project.yml`` (``precision_aliases``, ``mode_aliases``,
``platform_aliases``) are read from the files dbt reads, and the matching rule is the dbt macro
``name_key``: ``lower(trim(regexp_replace(name, '\\s+', ' ', 'g')))``. As in
``int_<entity>_aliases_resolved``, a catalog's own name wins over an alias with the same key, and
among equals the alphabetically first canonical name wins.

Device names may also be Lambda system names ("Dell 2x H100 80GB SXM5", "LambdaCloud 4xV100
16GB"): when the name itself does not resolve, the host prefix and ``Nx`` count are stripped with
the importer's own ``parse_system_name``, and the count is reported as the number of devices.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from predictive_performance.ingest.lambda_csv import parse_system_name
from predictive_performance.settings import DBT_PROJECT_DIR
from predictive_performance.vocabulary import MODES, PLATFORMS, PRECISIONS

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

# RE2's \s (DuckDB's regexp_replace) is [\t\n\f\r ]; Python's \s would also match \v and Unicode spaces.
_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def name_key(value: object) -> str | None:
    """The dbt macro ``name_key``: collapse whitespace runs to one space, trim spaces, lower-case."""
    if _missing(value):
        return None
    return _WHITESPACE.sub(" ", str(value)).strip(" ").lower()


def _category(value: object) -> str | None:
    """How staging cleans a category before the spelling maps see it: ``nullif(lower(trim(x)), '')``."""
    if _missing(value):
        return None
    cleaned = str(value).strip(" ").lower()
    return cleaned or None


@lru_cache(maxsize=4)
def _dbt_vars(project_dir: str) -> dict:
    with (Path(project_dir) / "dbt_project.yml").open() as handle:
        return yaml.safe_load(handle).get("vars", {})


def spelling_maps(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, dict[str, str]]:
    """``precision`` / ``mode`` / ``platform`` -> {spelling: canonical}, from ``dbt_project.yml``."""
    variables = _dbt_vars(str(project_dir))
    return {
        "precision": {str(k): str(v) for k, v in (variables.get("precision_aliases") or {}).items()},
        "mode": {str(k): str(v) for k, v in (variables.get("mode_aliases") or {}).items()},
        "platform": {str(k): str(v) for k, v in (variables.get("platform_aliases") or {}).items()},
    }


def canonical_precision(value: object) -> str | None:
    """``fp16`` for ``FP16``, ``half``, ``float16``; unknown spellings pass through (lower-cased)."""
    cleaned = _category(value)
    return spelling_maps()["precision"].get(cleaned, cleaned) if cleaned else None


def canonical_mode(value: object) -> str | None:
    cleaned = _category(value)
    return spelling_maps()["mode"].get(cleaned, cleaned) if cleaned else None


def canonical_platform(value: object) -> str | None:
    cleaned = _category(value)
    return spelling_maps()["platform"].get(cleaned, cleaned) if cleaned else None


def is_platform(value: object) -> bool:
    """True for a platform name (``cuda``, ``CPU``, ``ort``...), False for anything else (a device name)."""
    return canonical_platform(value) in PLATFORMS


@lru_cache(maxsize=8)
def _read_seed(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _seed_names(seeds_dir: Path, file: str, column: str) -> list[str]:
    return [n.strip(" ") for n in _read_seed(str(seeds_dir / file))[column] if n.strip(" ")]


@dataclass(frozen=True)
class Resolved:
    """One resolved name: ``name`` is the catalog's (None when unknown); ``how`` says which rule matched."""

    raw: str
    name: str | None
    how: str  # "catalog name", "alias", "system name" (host prefix / Nx count stripped) or "unknown"
    num_devices: int | None = None  # the count a system name states ("2x H100 ..."), devices only

    @property
    def known(self) -> bool:
        return self.name is not None


class NameResolver:
    """Resolves model and device spellings to catalog names, as dbt does.

    ``models`` / ``hardware`` are the catalog's canonical names (``marts.dim_models.model_name`` /
    ``marts.dim_hardware.hardware_name``); by default the dbt seeds. Aliases whose target is not in
    the catalog are ignored, as dbt's inner join ignores them.
    """

    def __init__(
        self,
        models: Iterable[str] | None = None,
        hardware: Iterable[str] | None = None,
        seeds_dir: Path = SEEDS_DIR,
    ) -> None:
        model_names = (
            list(models) if models is not None else _seed_names(seeds_dir, "model_architectures.csv", "model_name")
        )
        hardware_names = (
            list(hardware) if hardware is not None else _seed_names(seeds_dir, "hardware_devices.csv", "hardware_name")
        )
        self.models = sorted(set(model_names))
        self.hardware = sorted(set(hardware_names))
        self._model_keys = _spellings(self.models, _read_seed(str(seeds_dir / "model_aliases.csv")), "model_name")
        self._hardware_keys = _spellings(
            self.hardware, _read_seed(str(seeds_dir / "hardware_aliases.csv")), "hardware_name"
        )

    @classmethod
    def from_catalogs(cls, models: pd.DataFrame, hardware: pd.DataFrame, seeds_dir: Path = SEEDS_DIR) -> NameResolver:
        """From ``marts.dim_models`` / ``marts.dim_hardware`` frames."""
        return cls(models["model_name"].dropna(), hardware["hardware_name"].dropna(), seeds_dir)

    def spellings(self, kind: str) -> dict[str, str]:
        """Every accepted spelling (as its ``name_key``) -> catalog name, for ``model`` or ``hardware``."""
        keys = self._model_keys if kind == "model" else self._hardware_keys
        return {key: name for key, (name, _) in keys.items()}

    def resolve_model(self, raw: object) -> Resolved:
        key = name_key(raw)
        text = "" if raw is None else str(raw)
        if not key:
            return Resolved(text, None, "unknown")
        found = self._model_keys.get(key)
        if found is None:
            return Resolved(text, None, "unknown")
        name, priority = found
        return Resolved(text, name, "catalog name" if priority == 1 else "alias")

    def resolve_hardware(self, raw: object) -> Resolved:
        key = name_key(raw)
        text = "" if raw is None else str(raw)
        if not key:
            return Resolved(text, None, "unknown")
        found = self._hardware_keys.get(key)
        if found is not None:
            name, priority = found
            return Resolved(text, name, "catalog name" if priority == 1 else "alias")
        # a Lambda-style system name: host prefix and "Nx" count around a device name
        device, count = parse_system_name(text)
        found = self._hardware_keys.get(name_key(device) or "")
        if found is not None:
            return Resolved(text, found[0], "system name", count)
        return Resolved(text, None, "unknown")

    def model(self, raw: object) -> str | None:
        """The catalog model name, or None."""
        return self.resolve_model(raw).name

    def device(self, raw: object) -> str | None:
        """The catalog device name, or None."""
        return self.resolve_hardware(raw).name

    def normalise(self, configs: pd.DataFrame) -> pd.DataFrame:
        """Canonical names and categories for a frame of configurations, per distinct value.

        Adds ``model_name_raw`` / ``hardware_name_raw`` (what was given) and ``model_known`` /
        ``hardware_known``; unknown names keep their spelling so a caller can name them. A
        ``hardware_name`` that is really a platform ("cuda") moves to ``hardware_platform``; a
        system name's device count fills ``num_devices`` where that is empty.
        """
        frame = configs.copy()
        if "model_name" not in frame.columns:
            raise ValueError("configurations need a model_name column")
        for column in ("hardware_name", "hardware_platform", "num_devices"):
            if column not in frame.columns:
                frame[column] = None
        frame["hardware_platform"] = frame["hardware_platform"].astype("object")
        frame["hardware_name"] = frame["hardware_name"].astype("object")
        # a device name given as the platform ("hardware_platform='NVIDIA A100...'") is a device
        platform_is_device = frame["hardware_platform"].notna() & ~map_distinct(frame["hardware_platform"], is_platform)
        move = platform_is_device & frame["hardware_name"].isna()
        frame.loc[move, "hardware_name"] = frame.loc[move, "hardware_platform"]
        frame.loc[move, "hardware_platform"] = None
        # and a platform given as the device ("hardware_name='cuda'") is a platform, unless a device
        # of the catalog is spelt that way
        name_is_platform = map_distinct(
            frame["hardware_name"], lambda v: v is not None and is_platform(v) and self.device(v) is None
        )
        fill = name_is_platform & frame["hardware_platform"].isna()
        frame.loc[fill, "hardware_platform"] = frame.loc[fill, "hardware_name"]
        frame.loc[name_is_platform, "hardware_name"] = None

        frame["model_name_raw"] = frame["model_name"]
        frame["hardware_name_raw"] = frame["hardware_name"]
        frame["model_known"] = map_distinct(frame["model_name"], lambda v: self.resolve_model(v).known)
        frame["hardware_known"] = map_distinct(frame["hardware_name"], lambda v: self.resolve_hardware(v).known)
        frame["model_name"] = map_distinct(frame["model_name"], lambda v: self.model(v) or v)
        stated = map_distinct(frame["hardware_name"], lambda v: self.resolve_hardware(v).num_devices)
        frame["num_devices"] = pd.to_numeric(frame["num_devices"], errors="coerce").fillna(
            pd.to_numeric(stated, errors="coerce")
        )
        frame["hardware_name"] = map_distinct(frame["hardware_name"], lambda v: self.device(v) or v)
        for column, canonical in (
            ("precision", canonical_precision),
            ("mode", canonical_mode),
            ("hardware_platform", canonical_platform),
        ):
            if column in frame.columns:
                frame[column] = map_distinct(frame[column], canonical)
        return frame


def map_distinct(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``values.map(function)`` with one call per distinct value: a million configurations name a few
    hundred models and devices. Missing values reach ``function`` as None."""
    codes, distinct = pd.factorize(values)
    results = [function(value) for value in distinct] + [function(None)]
    dtype = bool if all(isinstance(r, bool) for r in results) else object
    return pd.Series(np.asarray(results, dtype=dtype)[codes], index=values.index)


def _spellings(catalog: list[str], aliases: pd.DataFrame, target: str) -> dict[str, tuple[str, int]]:
    """name_key -> (catalog name, priority): catalog names (1) before aliases (2), then by name."""
    known = set(catalog)
    entries = [(name_key(name), name, 1) for name in catalog]
    for alias, canonical in zip(aliases["alias"], aliases[target], strict=True):
        canonical = canonical.strip(" ")
        if canonical in known:
            entries.append((name_key(alias), canonical, 2))
    out: dict[str, tuple[str, int]] = {}
    for key, name, priority in sorted(entries, key=lambda e: (e[2], e[1])):
        if key and key not in out:
            out[key] = (name, priority)
    return out


def unknown_categories(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Precisions / modes / platforms outside the accepted sets (after the spelling maps)."""
    accepted: Mapping[str, frozenset[str]] = {"precision": PRECISIONS, "mode": MODES, "hardware_platform": PLATFORMS}
    out = {}
    for column, allowed in accepted.items():
        if column in frame.columns:
            bad = sorted({str(v) for v in frame[column].dropna().unique()} - set(allowed))
            if bad:
                out[column] = bad
    return out
