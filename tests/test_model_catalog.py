"""The model catalog seeds hold what the roofline features and the importers rely on.

Read straight from the seed CSVs (no dbt): every model carries the specs the marts require, every
figure cites a source, mixture-of-experts counts are consistent, the aliases are unambiguous, and
each public source's own model spellings resolve through ``NameResolver`` to the model they mean.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from predictive_performance.names import SEEDS_DIR, NameResolver, name_key
from predictive_performance.settings import DBT_PROJECT_DIR

REQUIRED_SPECS = ("parameters_million", "gflops_per_item")
REFERENCE_SIZES = ("reference_sequence_length", "reference_image_size")

# Each source's own spelling -> the catalog model it means (what the importers pass through).
SOURCE_NAMES = {
    "pytorch-gpu-benchmark": {
        "resnet50": "resnet-50",
        "resnet152": "resnet-152",
        "densenet121": "densenet121",
        "vgg16_bn": "vgg16-bn",
        "squeezenet1_1": "squeezenet1-1",
        "mnasnet0_75": "mnasnet0-75",
        "shufflenet_v2_x1_0": "shufflenet-v2-x1-0",
        "resnext101_32x8d": "resnext101-32x8d",
        "wide_resnet50_2": "wide-resnet50-2",
        "mobilenet_v2": "mobilenet-v2",
    },
    "neusight": {
        "bert": "bert-base-uncased",
        "bert_large": "bert-large-uncased",
        "gpt2_med": "gpt2-medium",
        "gpt2_large": "gpt2-large",
        "gpt2_xl": "gpt2-xl",
        "opt_13": "opt-1.3b",
        "gpt3_xl": "gpt3-xl-neusight",
        "gpt3_27": "gpt3-2.7b-neusight",
        "gpt3_67": "gpt3-6.7b-neusight",
        "gpt3_13": "gpt3-13b-neusight",
        "switchxl4": "switch-xl-4-neusight",
    },
    "ml-energy": {
        "Qwen/Qwen3-14B": "qwen3-14b",
        "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8": "qwen3-235b-a22b-instruct-2507",
        "Qwen/Qwen3-30B-A3B-Thinking-2507": "qwen3-30b-a3b-thinking-2507",
        "meta-llama/Llama-3.1-405B-Instruct-FP8": "llama-3.1-405b-instruct",
        "meta-llama/Meta-Llama-3.1-8B-Instruct": "llama-3.1-8b-instruct",
        "openai/gpt-oss-120b": "gpt-oss-120b",
        "deepseek-ai/DeepSeek-V3.1": "deepseek-v3.1",
        "black-forest-labs/FLUX.1-dev": "flux.1-dev",
        "Wan-AI/Wan2.1-T2V-14B-Diffusers": "wan2.1-t2v-14b",
        "mistralai/Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b-instruct-v0.1",
        "BAIR/koala-13b": "koala-13b",
        "zai-org/CogVideoX1.5-5B": "cogvideox1.5-5b",
        # v2 diffusion (UNet) models
        "stabilityai/stable-diffusion-xl-base-1.0": "stable-diffusion-xl-base-1.0",
        "stabilityai/sdxl-turbo": "sdxl-turbo",
        "stabilityai/stable-diffusion-2-1": "stable-diffusion-2-1",
        "segmind/SSD-1B": "ssd-1b",
        "prompthero/openjourney-v4": "openjourney-v4",
        "kandinsky-community/kandinsky-2-2-decoder": "kandinsky-2-2-decoder",
        "kandinsky-community/kandinsky-3": "kandinsky-3",
        "stabilityai/stable-video-diffusion-img2vid": "stable-video-diffusion-img2vid",
        "stabilityai/stable-video-diffusion-img2vid-xt": "stable-video-diffusion-img2vid-xt",
        "ali-vilab/i2vgen-xl": "i2vgen-xl",
        "ali-vilab/text-to-video-ms-1.7b": "text-to-video-ms-1.7b",
        "guoyww/animatediff-motion-adapter-v1-5-3": "animatediff-motion-adapter-v1-5-3",
    },
    "mlperf-inference-v4.1": {
        "llama2-70b-99": "llama-2-70b-chat",
        "llama2-70b-99.9": "llama-2-70b-chat",
        "gptj-99": "gpt-j-6b",
        "gptj-99.9": "gpt-j-6b",
        "bert-99": "bert-large-uncased",
        "bert-99.9": "bert-large-uncased",
        "resnet": "resnet-50",
        "mixtral-8x7b": "mixtral-8x7b-instruct-v0.1",
        "retinanet": "retinanet-resnext50-32x4d-fpn",
        "3d-unet-99": "3d-unet-kits19",
        "3d-unet-99.9": "3d-unet-kits19",
        "dlrm-v2-99": "dlrm-v2",
        "dlrm-v2-99.9": "dlrm-v2",
        # MLPerf's SDXL is 20 steps per image, ML.ENERGY's 25: two items, two entries
        "stable-diffusion-xl": "stable-diffusion-xl-base-1.0-mlperf-20-steps",
    },
}


def read_seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS_DIR / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def models() -> pd.DataFrame:
    return read_seed("model_architectures")


@pytest.fixture(scope="module")
def specs() -> pd.DataFrame:
    frame = read_seed("model_specs")
    return frame.assign(value=frame["value"].astype(float))


@pytest.fixture(scope="module")
def wide(specs: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """One row per model, one column per spec (what stg_catalog__models pivots)."""
    pivot = specs.pivot(index="model_name", columns="spec", values="value")
    return pivot.reindex(models["model_name"])


def test_every_model_has_the_specs_the_marts_require(wide: pd.DataFrame) -> None:
    missing = {spec: list(wide.index[wide[spec].isna()]) for spec in REQUIRED_SPECS}
    assert not any(missing.values()), missing
    no_size = list(wide.index[wide[list(REFERENCE_SIZES)].isna().all(axis=1)])
    assert not no_size, f"no reference input size: {no_size}"


def test_specs_are_known_positive_and_cited(specs: pd.DataFrame, models: pd.DataFrame) -> None:
    allowed = set(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["model_spec_names"])
    assert set(specs["spec"]) <= allowed, set(specs["spec"]) - allowed
    assert (specs["value"] > 0).all()
    assert not specs.duplicated(["model_name", "spec"]).any()
    assert set(specs["model_name"]) <= set(models["model_name"])
    for frame in (specs, models):
        assert (frame["source"].str.strip() != "").all()


def test_active_parameters_only_for_mixture_of_experts_and_never_above_the_total(wide: pd.DataFrame) -> None:
    moe = wide.dropna(subset=["active_parameters_million"])
    assert (moe["active_parameters_million"] < moe["parameters_million"]).all(), moe[["active_parameters_million", "parameters_million"]]
    assert {"mixtral-8x7b-instruct-v0.1", "qwen3-235b-a22b-instruct-2507", "deepseek-v3.1", "gpt-oss-20b"} <= set(moe.index)
    assert "llama-3.1-70b-instruct" not in moe.index  # dense: parameters_million is what a token uses


def test_grouped_query_attention_and_widths_are_consistent(wide: pd.DataFrame) -> None:
    heads = wide.dropna(subset=["num_heads", "num_kv_heads"])
    assert (heads["num_kv_heads"] <= heads["num_heads"]).all()
    assert (heads["num_heads"] % heads["num_kv_heads"] == 0).all()
    assert wide.loc["llama-3.1-8b-instruct", "num_kv_heads"] == 8


def test_categories_are_the_accepted_ones(models: pd.DataFrame) -> None:
    seeds = yaml.safe_load((SEEDS_DIR / "_seeds.yml").read_text())["seeds"]
    columns = {c["name"]: c for c in next(s for s in seeds if s["name"] == "model_architectures")["columns"]}

    def accepted(column: str) -> set[str]:
        tests = [t for t in columns[column]["data_tests"] if isinstance(t, dict) and "accepted_values" in t]
        return set(tests[0]["accepted_values"]["arguments"]["values"])

    assert set(models["model_type"]) <= accepted("model_type")
    assert set(models["modality"]) <= accepted("modality")
    assert models["model_name"].is_unique


def test_aliases_are_normalised_unique_and_point_at_catalog_models(models: pd.DataFrame) -> None:
    aliases = read_seed("model_aliases")
    assert aliases["alias"].is_unique
    assert (aliases["alias"].map(name_key) == aliases["alias"]).all()
    assert set(aliases["model_name"]) <= set(models["model_name"])
    # no alias is also another model's canonical name
    canonical = {name_key(n): n for n in models["model_name"]}
    clashes = aliases[aliases["alias"].map(canonical).fillna(aliases["model_name"]) != aliases["model_name"]]
    assert clashes.empty, clashes


@pytest.mark.parametrize("source", sorted(SOURCE_NAMES))
def test_each_source_spelling_resolves_to_the_model_it_means(source: str) -> None:
    resolver = NameResolver()
    resolved = {raw: resolver.model(raw) for raw in SOURCE_NAMES[source]}
    assert resolved == SOURCE_NAMES[source]


def test_a_differently_shaped_config_is_not_an_alias_of_a_checkpoint(wide: pd.DataFrame) -> None:
    # NeuSight's gpt3_xl has d_model 3072; GPT-3 XL and the 1.3B checkpoints have 2048
    assert wide.loc["gpt3-xl-neusight", "hidden_size"] == 3072
    # NeuSight's opt.json is a 1-layer model named after opt-1.3b: "opt" keeps meaning opt-125m
    assert NameResolver().model("opt") == "opt-125m"
    assert wide.loc["opt-1layer-neusight", "num_layers"] == 1


def test_diffusion_items_are_whole_generations(wide: pd.DataFrame) -> None:
    # the sources count whole images / videos per second, so one item is every denoising step
    flops = wide["gflops_per_item"]
    # ML.ENERGY's 25 steps against MLPerf's 20: 5 more steps of 2 guided UNet passes (6,761 GFLOPs each at 1024 px);
    # the VAE decoder and the text encoders run once per generation either way
    extra = flops["stable-diffusion-xl-base-1.0"] - flops["stable-diffusion-xl-base-1.0-mlperf-20-steps"]
    assert extra == pytest.approx(5 * 2 * 6761.24, rel=1e-3)
    assert flops["flux.1-dev"] > 50 * 74384.7  # 50 single passes (guidance distilled) + VAE decode + text encoders
