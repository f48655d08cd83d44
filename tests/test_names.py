"""Name resolution in Python agrees with dbt's: same seeds, same key, same priority rule.

The reference is dbt's own SQL: ``int_<entity>_aliases_resolved.sql`` and the ``name_key`` macro
are rendered with Jinja (``ref`` pointing at tables made from the seed CSVs) and run in DuckDB,
so a change to the macro, the models or the seeds that the Python side does not follow fails here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import pytest

from predictive_performance.ingest.lambda_csv import read_lambda
from predictive_performance.names import (
    NameResolver,
    canonical_mode,
    canonical_platform,
    canonical_precision,
    name_key,
)
from predictive_performance.settings import DBT_PROJECT_DIR
from predictive_performance.vocabulary import PRECISION_ALIASES
from tests.conftest import write_lambda_fixture

SEEDS = DBT_PROJECT_DIR / "seeds"
MACROS = (DBT_PROJECT_DIR / "macros" / "normalize.sql").read_text() + (DBT_PROJECT_DIR / "macros" / "catalog.sql").read_text()
TRICKY = [
    "  NVIDIA   A100 80GB SXM4 ",
    "nvidia\ta100\n80gb sxm4",
    "RTX 3090",
    "rtx\u00a03090",
    "Quadro RTX 8000",
    "H100 80GB PCIe Gen5",
    "bert_base_squad",
    "ResNet50",
    "google-bert/bert-base-uncased",
    "",
    "   ",
    "x\r\ny",
]


def render(model_sql: str, **tables: str) -> str:
    """A dbt model as SQL, with the project's macros and ``ref`` mapped to plain table names."""
    template = jinja2.Environment().from_string(MACROS + model_sql)
    return template.render(ref=lambda name: tables.get(name, name))


@pytest.fixture(scope="module")
def dbt_spellings() -> dict[str, dict[str, str]]:
    """name_key -> catalog name for models and devices, computed by dbt's SQL in DuckDB."""
    connection = duckdb.connect()
    devices = pd.read_csv(SEEDS / "hardware_devices.csv", dtype=str, keep_default_na=False)
    models = pd.read_csv(SEEDS / "model_architectures.csv", dtype=str, keep_default_na=False)
    connection.register("stg_catalog__hardware", devices.assign(hardware_name=devices["hardware_name"].str.strip()))
    connection.register("stg_catalog__models", models.assign(model_name=models["model_name"].str.strip()))
    connection.register(
        "hardware_aliases", pd.read_csv(SEEDS / "hardware_aliases.csv", dtype=str, keep_default_na=False)
    )
    connection.register("model_aliases", pd.read_csv(SEEDS / "model_aliases.csv", dtype=str, keep_default_na=False))
    out = {}
    for entity, column in (("hardware", "hardware_name"), ("model", "model_name")):
        sql = render((DBT_PROJECT_DIR / "models" / "intermediate" / f"int_{entity}_aliases_resolved.sql").read_text())
        rows = connection.execute(sql).fetchall()
        out[entity] = dict(rows)
        assert len(out[entity]) > 50, column
    return out


def dbt_name_key(values: list[str]) -> list[str | None]:
    sql = render("select {{ name_key('value') }} as key from values_table")
    with duckdb.connect() as connection:
        connection.register("values_table", pd.DataFrame({"value": values, "position": range(len(values))}))
        ordered = sql.replace("from values_table", "from values_table order by position")
        return [row[0] for row in connection.execute(ordered).fetchall()]


def test_name_key_is_the_dbt_macro():
    assert [name_key(v) for v in TRICKY] == dbt_name_key(TRICKY)
    assert name_key(None) is None


@pytest.mark.parametrize("entity", ["hardware", "model"])
def test_every_spelling_resolves_as_dbt_resolves_it(dbt_spellings, entity):
    resolver = NameResolver()
    resolve = resolver.device if entity == "hardware" else resolver.model
    expected = dbt_spellings[entity]
    assert {key: resolve(key) for key in expected} == expected
    # and for spellings people type, including the keys' raw forms
    for value, key in zip(TRICKY, dbt_name_key(TRICKY), strict=True):
        if key not in expected:
            continue
        assert resolve(value) == expected[key], value


def test_catalog_name_beats_alias_and_ties_go_alphabetically(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "model_aliases.csv").write_text("alias,model_name\nbeta,alpha\nshared,zeta\nshared,alpha\n")
    (seeds / "hardware_aliases.csv").write_text("alias,hardware_name\n")
    resolver = NameResolver(models=["alpha", "beta", "zeta"], hardware=[], seeds_dir=seeds)
    assert resolver.resolve_model("BETA").name == "beta"  # the catalog's own name wins over the alias
    assert resolver.resolve_model("BETA").how == "catalog name"
    assert resolver.resolve_model(" shared ").name == "alpha"  # alias ambiguity: first canonical name
    assert resolver.resolve_model("shared").how == "alias"
    assert resolver.resolve_model("gamma").name is None


@pytest.mark.parametrize(
    ("raw", "device", "count", "how"),
    [
        ("Dell 2x H100 80GB SXM5", "NVIDIA H100 80GB SXM5", 2, "system name"),
        ("LambdaCloud 4xV100 16GB", "NVIDIA Tesla V100 SXM2 16GB", 4, "system name"),
        ("8x A100 80GB SXM4", "NVIDIA A100 80GB SXM4", 8, "system name"),
        ("RAIDZ1 H100 80GB SXM5", "NVIDIA H100 80GB SXM5", None, "system name"),
        ("H100 80GB PCIe Gen5", "NVIDIA H100 80GB PCIe", None, "alias"),
        ("RTX 3090", "NVIDIA GeForce RTX 3090", None, "alias"),
        ("nvidia a100 80gb sxm4", "NVIDIA A100 80GB SXM4", None, "catalog name"),
        ("Dell 2x Quantum Abacus", None, None, "unknown"),
    ],
)
def test_lambda_system_names(raw, device, count, how):
    resolved = NameResolver().resolve_hardware(raw)
    assert (resolved.name, resolved.num_devices, resolved.how) == (device, count, how)


def test_names_agree_with_the_lambda_importer(tmp_path: Path):
    """The importer strips prefixes and counts before dbt sees the name; the resolver reaches the same device."""
    tables = read_lambda(write_lambda_fixture(tmp_path / "lambda"))
    resolver = NameResolver()
    systems = tables.hardware_systems
    for row in systems.itertuples():
        assert resolver.device(row.system_name) == resolver.device(row.hardware_name) is not None
        assert resolver.resolve_hardware(row.system_name).num_devices in (None, row.num_devices)
    rows = pd.concat(tables.results.values())
    assert rows["model_name"].map(resolver.model).notna().all()


def test_categories_use_the_dbt_spelling_maps():
    assert [canonical_precision(v) for v in (" FP16", "half", "float32", "bfloat16", "int8_dynamic", "fp8")] == [
        "fp16",
        "fp16",
        "fp32",
        "bf16",
        "int8",
        "fp8",
    ]
    assert {k: canonical_precision(k) for k in PRECISION_ALIASES} == PRECISION_ALIASES  # schema.py and dbt agree
    assert (
        canonical_mode("Train"),
        canonical_mode("infer"),
        canonical_platform(" ORT "),
        canonical_platform(None),
    ) == (
        "training",
        "inference",
        "onnxruntime",
        None,
    )


def test_normalise_frame_moves_platforms_and_counts():
    frame = pd.DataFrame(
        {
            "model_name": ["resnet50", "gpt2", "no-such-model"],
            "hardware_name": ["Dell 2x H100 80GB SXM5", "cuda", None],
            "hardware_platform": [None, None, "NVIDIA A10"],
            "num_devices": [None, None, 3],
            "precision": ["half", "fp32", "fp32"],
            "mode": ["train", "inference", "inference"],
        }
    )
    out = NameResolver().normalise(frame)
    assert list(out["model_name"]) == ["resnet-50", "gpt2", "no-such-model"]
    assert list(out["model_known"]) == [True, True, False]
    assert list(out["hardware_name"].fillna("-")) == ["NVIDIA H100 80GB SXM5", "-", "NVIDIA A10"]
    assert list(out["hardware_platform"].fillna("-")) == ["-", "cuda", "-"]
    assert list(out["num_devices"].fillna(0)) == [2, 0, 3]
    assert list(out["precision"]) == ["fp16", "fp32", "fp32"] and out["mode"].iloc[0] == "training"
    assert list(out["hardware_name_raw"].fillna("-")) == ["Dell 2x H100 80GB SXM5", "-", "NVIDIA A10"]
