"""Name resolution: configurations in catalog names and canonical categories, as dbt resolves them.

Catalog names, their aliases, any case and spacing, and Lambda system names ("Dell 2x H100 80GB
SXM5" is two H100 SXM5) are resolved by ``predictive_performance.names``. Here: a platform given
without a device stands for its representative device, and a name the catalogs do not know raises
``UnknownNameError`` or, with ``fallback_to_similar``, is replaced by the closest catalog name
(the row's ``fallback`` and ``notes`` say so).

A stand-in is another device or model predicted as if it were the one asked, and names that are
spelt alike can still run far apart (an EPYC Zen 4 for a Zen 5: about 2x slower). So each
stand-in, by its spelling similarity ``s`` (``stand_in``), multiplies the row's confidence by
``STAND_IN_CONFIDENCE x s`` and widens each side of its intervals by ``log(STAND_IN_SPREAD) / s``
in log units (a factor of 2 at ``s`` = 1, more the poorer the match).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from predictive_performance.ingest.lambda_csv import parse_system_name
from predictive_performance.modeling import UnknownEntityError
from predictive_performance.names import (
    NameResolver,
    canonical_platform,
    is_platform,
    map_distinct,
    name_key,
    unknown_categories,
)
from predictive_performance.prediction.inputs import configuration_frame
from predictive_performance.warehouse import Warehouse, WarehouseError

# Runtimes that run on a host CPU: with no measured device of their own, the CPU stands in.
CPU_RUNTIMES = frozenset({"onnxruntime", "openvino"})
# kind -> (the configuration column it names, the column it is compared within when it is unknown)
NAME_COLUMNS = {"model": ("model_name", "model_type"), "hardware": ("hardware_name", "hardware_platform")}
STAND_IN_CONFIDENCE = 0.5  # a stand-in's confidence factor at similarity 1 (x similarity)
STAND_IN_SPREAD = 2.0  # how far apart a stand-in and the one asked may run at similarity 1 (/ similarity)


def stand_in_cut(similarity: float) -> tuple[float, float]:
    """(confidence factor, extra log half-width of the intervals) for one stand-in of this similarity."""
    similarity = max(similarity, 1e-3)
    return STAND_IN_CONFIDENCE * similarity, float(np.log(STAND_IN_SPREAD)) / similarity


def stand_in(fallback: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(confidence factor, extra log half-width) per row from its ``fallback`` entries: 1 and 0 without one;
    a row with a stand-in model and device gets both cuts."""
    factor, widening = np.ones(len(fallback)), np.zeros(len(fallback))
    for position, entry in enumerate(fallback):
        for explanation in (entry or {}).values():
            cut, wider = stand_in_cut(explanation["similarity"])
            factor[position] *= cut
            widening[position] += wider
    return factor, widening


class UnknownNameError(UnknownEntityError):
    """A model or device neither in the catalog nor among its aliases; names it and the closest spellings."""

    def __init__(
        self,
        kind: str,
        names: Iterable[str],
        suggestions: dict[str, list[str]] | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(kind, names)
        self.suggestions = suggestions or {}
        if message:
            self.args = (message,)
            return
        parts = []
        for name in self.names:
            close = self.suggestions.get(name)
            hint = f" (closest catalog names: {', '.join(repr(c) for c in close)})" if close else ""
            parts.append(f"{name!r}{hint}")
        catalog = (
            "dbt/seeds/hardware_devices.csv and hardware_specs.csv"
            if kind == "hardware"
            else "dbt/seeds/model_architectures.csv and model_specs.csv"
        )
        aliases = f"dbt/seeds/{'hardware' if kind == 'hardware' else 'model'}_aliases.csv"
        message = (
            f"unknown {kind}: {'; '.join(parts)}. Add it to {catalog} (or an alias to {aliases}), "
            "or pass fallback_to_similar=True (--fallback-to-similar)"
        )
        self.args = (message,)


def platform_representatives(hardware: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """platform -> (device, why): the most measured device of each platform.

    Ties go to the newest release, then the name; a platform nobody measured gets its newest
    catalog device. CPU runtimes without a device of their own run on the CPU's representative.
    """
    hardware = hardware.sort_values(
        ["measured_rows", "release_year", "hardware_name"], ascending=[False, False, True], na_position="last"
    )
    out: dict[str, tuple[str, str]] = {}
    for platform, group in hardware.groupby("hardware_platform", sort=False):
        device = group.iloc[0]
        if device["measured_rows"] > 0:
            why = f"the most measured {platform} device ({int(device['measured_rows'])} rows)"
        else:
            why = f"the newest {platform} device in the catalog, as none is measured"
        out[str(platform)] = (device["hardware_name"], why)
    if "cpu" in out:
        for runtime in CPU_RUNTIMES:
            out.setdefault(runtime, (out["cpu"][0], f"{runtime} runs on the host CPU: {out['cpu'][1]}"))
    return out


class CatalogResolver:
    """The published catalogs (``marts.dim_models``, ``marts.dim_hardware``) and how names map onto them."""

    def __init__(self, models: pd.DataFrame, hardware: pd.DataFrame, names: NameResolver) -> None:
        self.models = models
        self.hardware = hardware
        self.names = names
        self.representatives = platform_representatives(hardware)

    @classmethod
    def from_catalogs(cls, models: pd.DataFrame, hardware: pd.DataFrame) -> CatalogResolver:
        """A resolver for these catalog frames, with the alias seeds dbt uses."""
        return cls(models, hardware, NameResolver.from_catalogs(models, hardware))

    @classmethod
    def from_warehouse(cls, warehouse: Warehouse) -> CatalogResolver:
        """Reads the published catalogs; raises ``WarehouseError`` when the warehouse has none."""
        if warehouse.path.exists() and not warehouse.table_exists("marts.dim_models"):
            # otherwise the first catalog query fails with DuckDB's multi-line catalog error
            raise WarehouseError(
                f"warehouse {warehouse.path} has no published catalogs (marts.dim_models): "
                "run `perfpredict run` first"
            )
        models = warehouse.query("select * from marts.dim_models order by model_name")
        hardware = warehouse.query("select * from marts.dim_hardware order by hardware_name")
        return cls.from_catalogs(models, hardware)

    def resolve(self, configs: Sequence[dict] | pd.DataFrame, fallback_to_similar: bool) -> pd.DataFrame:
        """Catalog names and canonical categories for configurations; raises on unknown names.

        Adds ``notes`` (lists) and ``fallback`` (a dict per row where a similar entry was used).
        """
        frame = self.names.normalise(configuration_frame(configs))
        batch = pd.to_numeric(frame["batch_size"])  # empty only where the system chooses the batch
        frame["batch_size"] = batch.astype("int64") if batch.notna().all() else batch.astype("float64")
        bad = unknown_categories(frame)
        if bad:
            raise ValueError("; ".join(f"unknown {column}: {', '.join(values)}" for column, values in bad.items()))
        frame["notes"] = [[] for _ in range(len(frame))]
        frame["fallback"] = [None] * len(frame)
        self._fill_platform_devices(frame)
        self._replace_unknown(frame, self._closest_to_unknown(frame), fallback_to_similar)
        self._note_other_model_types(frame)
        return frame

    def similar(self, kind: str, name: str, within: Iterable[str] = (), n: int = 3) -> list[tuple[str, float]]:
        """Closest catalog names to ``name`` by spelling (aliases included), best first, with similarity 0-1.

        ``within``: model types (models) or platforms (devices) to prefer; used when any match them.
        """
        if kind == "model":
            catalog = self.models.set_index("model_name")["model_type"]
        else:
            catalog = self.hardware.set_index("hardware_name")["hardware_platform"]
        within = {canonical_platform(w) if kind == "hardware" else str(w).strip().lower() for w in within if w}
        allowed = set(catalog.index)
        if within and (catalog.isin(within)).any():
            allowed = set(catalog.index[catalog.isin(within)])
        key = name_key(name) or ""
        if kind == "hardware":  # compare the device part of a system name ("Dell 2x ...")
            key = name_key(parse_system_name(str(name))[0]) or key
        best: dict[str, float] = {}
        for spelling, canonical in self.names.spellings(kind).items():
            if canonical in allowed:
                ratio = difflib.SequenceMatcher(None, key, spelling).ratio()
                best[canonical] = max(best.get(canonical, 0.0), ratio)
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:n]

    def hardware_entry(self, entry: str) -> dict[str, str]:
        """A platform ("cuda") or a device name, as configuration columns."""
        if is_platform(entry) and self.names.device(entry) is None:
            return {"hardware_platform": canonical_platform(entry)}
        return {"hardware_name": entry}

    def measured_devices(self) -> list[str]:
        """Every measured device (all catalog devices when none is measured yet)."""
        measured = self.hardware.loc[self.hardware["is_measured"].astype(bool), "hardware_name"]
        return sorted(measured) or list(self.hardware["hardware_name"])

    def _fill_platform_devices(self, frame: pd.DataFrame) -> None:
        """Rows with a platform and no device get the platform's representative, and a note saying so."""
        missing = np.flatnonzero(frame["hardware_name"].isna().to_numpy())
        platforms = frame["hardware_platform"].to_numpy()[missing]
        unusable = pd.isna(platforms) | ~np.isin(platforms.astype(str), list(self.representatives))
        if unusable.any():
            position, platform = missing[unusable][0], platforms[unusable][0]
            if pd.isna(platform):
                raise ValueError(f"configuration {position + 1} has neither hardware_name nor hardware_platform")
            raise UnknownNameError(
                "hardware",
                [platform],
                message=f"no catalog device runs platform {platform!r}: pass hardware_name, or add a {platform} "
                "device to dbt/seeds/hardware_devices.csv",
            )
        said = {
            platform: f"only the platform {platform!r} was given: predicted for {device}, {why} "
            "(pass hardware_name for another device)"
            for platform, (device, why) in self.representatives.items()
        }
        frame.loc[missing, "hardware_name"] = [self.representatives[p][0] for p in platforms]
        frame.loc[missing, "hardware_known"] = True
        notes = frame["notes"].to_numpy()  # the row's own lists: appending here changes the frame's notes
        for position, platform in zip(missing, platforms, strict=True):
            notes[position].append(said[platform])

    def _closest_to_unknown(self, frame: pd.DataFrame) -> dict[str, dict[str, list[tuple[str, float]]]]:
        """kind -> unknown name -> its closest catalog names, within the rows' model types or platforms."""
        found: dict[str, dict[str, list[tuple[str, float]]]] = {}
        for kind, (column, within) in NAME_COLUMNS.items():
            unknown = frame.loc[~frame[f"{kind}_known"].astype(bool), column].dropna().unique()
            found[kind] = {
                name: self.similar(kind, name, within=frame.loc[frame[column] == name, within].dropna().unique())
                for name in unknown
            }
        return found

    @staticmethod
    def _replace_unknown(
        frame: pd.DataFrame, found: dict[str, dict[str, list[tuple[str, float]]]], fallback: bool
    ) -> None:
        """Replace unknown names by the closest catalog entry (``fallback``), or raise naming all of them."""
        if not fallback and any(found.values()):
            errors = [
                UnknownNameError(kind, names, {n: [c for c, _ in close[:3]] for n, close in names.items()})
                for kind, names in found.items()
                if names
            ]
            message = " Also ".join(str(e) for e in errors)
            raise UnknownNameError(errors[0].kind, errors[0].names, errors[0].suggestions, message=message)
        for kind, names in found.items():
            column = NAME_COLUMNS[kind][0]
            for name, close in names.items():
                if not close:
                    raise UnknownNameError(kind, [name])
                used, similarity = close[0]
                cut, wider = stand_in_cut(round(similarity, 3))
                explanation = {
                    "requested": name,
                    "used": used,
                    "similarity": round(similarity, 3),
                    "reason": f"{name!r} is not in the {kind} catalog, so the closest catalog {kind} by name, "
                    f"{used!r}, is used",
                }
                rows = (frame[column] == name).to_numpy()
                for position in np.flatnonzero(rows):
                    entry = dict(frame.at[position, "fallback"] or {})
                    entry[kind] = explanation
                    frame.at[position, "fallback"] = entry
                    frame.at[position, "notes"].append(
                        f"fallback: {explanation['reason']} (similarity {similarity:.2f}): confidence x{cut:.2g}, "
                        f"intervals x{np.exp(wider):.2g} wider on each side"
                    )
                frame.loc[rows, column] = used

    def _note_other_model_types(self, frame: pd.DataFrame) -> None:
        """A note on rows whose given model_type disagrees with the catalog's (whose facts are used)."""
        catalog_type = frame["model_name"].map(self.models.set_index("model_name")["model_type"])
        given_type = map_distinct(frame["model_type"], lambda v: None if pd.isna(v) else str(v).strip().lower())
        for position in np.flatnonzero((given_type.notna() & (given_type != catalog_type)).to_numpy()):
            frame.at[position, "notes"].append(
                f"model_type {given_type[position]!r} given, but the catalog says {frame.at[position, 'model_name']} "
                f"is {catalog_type[position]!r}; the catalog's facts are used"
            )
