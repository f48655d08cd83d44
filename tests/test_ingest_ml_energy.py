"""The ML.ENERGY importer against a real warehouse: each release's rows, their semantics, what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from predictive_performance.ingest import IngestError, ingest_path
from predictive_performance.ingest.ml_energy import SOURCES, is_ml_energy, read_ml_energy, release_loads
from predictive_performance.modeling import add_roofline
from predictive_performance.settings import SHARED_DATA_DIR
from tests.conftest import GOOD_ROWS, canonical_csv

ML_ENERGY_DIR = SHARED_DATA_DIR / "ml-energy"
H100_V2 = "NVIDIA H100 80GB HBM3"


def serving(**fields: object) -> dict:
    """One v3 LLM configuration as the task files spell it; ``fields`` override or (as None) remove keys."""
    record = {
        "model_id": "Qwen/Qwen3-14B",
        "gpu_model": "H100",
        "num_gpus": 2,
        "max_num_seqs": 64,
        "tensor_parallel": 2,
        "expert_parallel": 1,
        "data_parallel": 1,
        "weight_precision": "bfloat16",
        "output_throughput_tokens_per_sec": 2400.0,
        "median_itl_ms": 20.0,
        "p90_itl_ms": 24.0,
        "p99_itl_ms": 40.0,
        "p95_itl_ms": 30.0,
        "avg_power_watts": 900.0,
        "energy_per_token_joules": 0.375,
        "energy_per_request_joules": 240.0,
        "avg_batch_size": 60.5,
        "avg_output_len": 640.0,
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


IMAGE = {
    "model_id": "black-forest-labs/FLUX.1-dev",
    "gpu_model": "H100",
    "num_gpus": 1,
    "batch_size": 4,
    "weight_precision": "bfloat16",
    "batch_latency_s": 8.0,
    "throughput_images_per_sec": 0.5,
    "avg_power_watts": 600.0,
    "energy_per_image_joules": 1200.0,
    "image_height": 1024,
    "image_width": 1024,
    "inference_steps": 28,
    "ulysses_degree": 1,
    "ring_degree": 1,
}
# a Wan 2.1 video split over 4 GPUs by xDiT: Ulysses 2 x ring 2
VIDEO = {
    **{key: IMAGE[key] for key in ("gpu_model", "weight_precision", "avg_power_watts")},
    "model_id": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
    "num_gpus": 4,
    "batch_size": 2,
    "batch_latency_s": 60.0,
    "throughput_videos_per_sec": 1 / 30,
    "energy_per_video_joules": 36000.0,
    "video_width": 832,
    "video_height": 480,
    "num_frames": 81,
    "fps": 15,
    "inference_steps": 50,
    "ulysses_degree": 2,
    "ring_degree": 2,
}
INDEX = {
    "architectures": {"llm": ["gpqa"], "diffusion": ["text-to-image", "text-to-video"]},
    "models": {
        "Qwen/Qwen3-14B": {
            "total_params_billions": 14.8,
            "activated_params_billions": 14.8,
            "weight_precision": "bfloat16",
        },
        "black-forest-labs/FLUX.1-dev": {"total_params_billions": 12.0, "activated_params_billions": 12.0},
    },
}
V2_CHAT = {
    "Model": "meta-llama/Meta-Llama-3.1-70B-Instruct",
    "GPU": H100_V2,
    "TP": 4,
    "PP": 1,
    "Energy/req (J)": 800.0,
    "Avg TPOT (s)": 0.05,
    "Token tput (tok/s)": 2000.0,
    "Avg Output Tokens": 400.0,
    "Avg BS (reqs)": 120.2,
    "Max BS (reqs)": 128,
}
V2_IMAGE = {
    "Model": "segmind/SSD-1B",
    "GPU": H100_V2,
    "Energy/image (J)": 500.0,
    "Batch latency (s)": 2.0,
    "Batch size": 4,
    "Denoising steps": 25,
}
LEGACY_HEADER = "model,throughput,response_length,latency,energy"


def write_json(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def write_releases(root: Path, configurations: list[dict] | None = None, legacy_rows: list[str] | None = None) -> Path:
    """An ``ml-energy/`` folder laid out as the public copy: v3, v2 and v2's legacy folder."""
    write_json(root / "v3" / "index.json", INDEX)
    write_json(root / "v3" / "tasks" / "gpqa.json", {"task": "gpqa", "configurations": configurations or [serving()]})
    write_json(
        root / "v3" / "tasks" / "text-to-image.json",
        {"task": "text-to-image", "architecture": "diffusion", "configurations": [IMAGE]},
    )
    data = root / "v2" / "data"
    write_json(
        data
        / "llm_text_generation"
        / "chat"
        / H100_V2
        / "meta-llama"
        / "Meta-Llama-3.1-70B-Instruct"
        / "bs128+tp4+pp1.json",
        V2_CHAT,
    )
    write_json(data / "diffusion" / "text-to-image" / "models.json", {"segmind/SSD-1B": {"resolution": "1024x1024"}})
    write_json(data / "diffusion" / "text-to-image" / H100_V2 / "segmind" / "SSD-1B" / "bs4+steps25.json", V2_IMAGE)
    (data / "legacy").mkdir()
    rows = legacy_rows or ["lmsys/vicuna-7B,25.0,250.0,10.0,2000.0", "BAIR/koala-13b,20.0,260.0,13.0,3120.0"]
    (data / "legacy" / "A100_chat_benchmark.csv").write_text("\n".join([LEGACY_HEADER, *rows]) + "\n")
    (data / "legacy" / "score.csv").write_text("model,arc,hellaswag,truthfulqa\nlmsys/vicuna-7B,53.5,77.5,49.0\n")
    return root


def stored(warehouse, source: str) -> pd.DataFrame:
    return warehouse.query(
        f"select * from raw.benchmark_results where source = '{source}' order by source_file, source_row"
    )


def test_each_release_is_one_load_with_its_own_source(warehouse, tmp_path):
    reports = ingest_path(write_releases(tmp_path / "ml-energy"), warehouse)

    assert sorted((r.source, r.format, r.rows_accepted) for r in reports) == [
        ("ml-energy-legacy", "ml-energy", 2),
        ("ml-energy-v2", "ml-energy", 2),
        ("ml-energy-v3", "ml-energy", 2),
    ]
    assert set(warehouse.query("select source from raw.loads")["source"]) == set(SOURCES)


def test_v3_serving_and_diffusion_rows_keep_their_semantics(warehouse, tmp_path):
    ingest_path(write_releases(tmp_path / "ml-energy") / "v3", warehouse)
    rows = stored(warehouse, "ml-energy-v3").set_index("workload")

    chat = rows.loc["serving"]
    assert (chat["model_name"], chat["hardware_name"], chat["hardware_platform"]) == ("Qwen/Qwen3-14B", "H100", "cuda")
    assert (chat["task"], chat["batch_size"], chat["num_devices"], chat["parallelism"]) == ("gpqa", 64, 2, "tensor")
    assert (chat["precision"], chat["model_type"], chat["mode"]) == ("bf16", "text_generation", "inference")
    assert (chat["throughput"], chat["latency_ms"], chat["latency_kind"]) == (2400.0, 20.0, "token")
    assert (chat["latency_p90_ms"], chat["latency_p99_ms"]) == (24.0, 40.0)
    assert (chat["power_w"], chat["power_scope"], chat["power_derived"], chat["energy_per_item_j"]) == (
        900.0,
        "accelerators",
        False,
        0.375,
    )
    image = rows.loc["static_batch"]
    assert (image["task"], image["batch_size"], image["image_size"]) == ("text-to-image 1024x1024 28 steps", 4, 1024)
    assert (image["latency_ms"], image["latency_kind"], image["throughput"], image["energy_per_item_j"]) == (
        8000.0,
        "batch",
        0.5,
        1200.0,
    )
    assert pd.isna(image["parallelism"]) and image["model_type"] == "diffusion"
    assert image["denoising_steps"] == 28 and pd.isna(image["num_frames"])


def write_video(root: Path, **fields: object) -> Path:
    """The release of ``write_releases`` plus one text-to-video task of ``VIDEO`` (``fields`` override)."""
    write_json(
        root / "v3" / "tasks" / "text-to-video.json",
        {"task": "text-to-video", "architecture": "diffusion", "configurations": [{**VIDEO, **fields}]},
    )
    return root / "v3"


def test_v3_video_rows_keep_resolution_frames_steps_and_sequence_parallelism(warehouse, tmp_path):
    ingest_path(write_video(write_releases(tmp_path / "ml-energy")), warehouse)

    video = stored(warehouse, "ml-energy-v3").set_index("model_name").loc["Wan-AI/Wan2.1-T2V-1.3B-Diffusers"]
    assert video["task"] == "text-to-video 832x480 81 frames 50 steps"
    # the side of the square with 832 x 480 pixels, so that (image_size / reference)^2 is a ratio of pixels
    assert (video["image_size"], video["num_frames"], video["denoising_steps"]) == (632, 81, 50)
    assert (video["num_devices"], video["batch_size"], video["parallelism"]) == (4, 2, "sequence")


@pytest.mark.parametrize(
    ("fields", "scale"),
    [({}, 1.0), ({"inference_steps": 25}, 0.5), ({"num_frames": 41}, 41 / 81), ({"video_width": 416}, 0.5)],
)
def test_v3_video_work_scales_with_pixels_frames_and_steps(warehouse, tmp_path, fields, scale):
    ingest_path(write_video(write_releases(tmp_path / "ml-energy"), **fields), warehouse)
    video = stored(warehouse, "ml-energy-v3").query("model_name == 'Wan-AI/Wan2.1-T2V-1.3B-Diffusers'")
    # the catalog's Wan 2.1 1.3B: FLOPs of one 832x480, 81-frame, 50-step video (dbt/seeds/model_specs.csv)
    catalog = {"gflops_per_item": 4.2588e6, "reference_image_size": 632, "reference_num_frames": 81,
               "reference_denoising_steps": 50, "reference_sequence_length": 32760}

    roofline = add_roofline(video.assign(**catalog))

    assert roofline["flops_per_item"].iloc[0] == pytest.approx(4.2588e15 * scale, rel=2e-3)


def test_v3_index_becomes_catalog_facts(warehouse, tmp_path):
    ingest_path(write_releases(tmp_path / "ml-energy") / "v3", warehouse)

    models = warehouse.query("select * from raw.catalog_models order by model_name").set_index("model_name")
    assert models["model_type"].to_dict() == {
        "Qwen/Qwen3-14B": "text_generation",
        "black-forest-labs/FLUX.1-dev": "diffusion",
    }
    specs = warehouse.query(
        "select model_name, spec, value from raw.catalog_model_specs where model_name = 'Qwen/Qwen3-14B'"
    )
    assert dict(zip(specs["spec"], specs["value"])) == pytest.approx(
        {"parameters_million": 14800.0, "active_parameters_million": 14800.0}
    )


@pytest.mark.parametrize(
    ("fields", "expert"),
    [({"tensor_parallel": 1, "expert_parallel": 2}, "expert"), ({"tensor_parallel": 1, "num_gpus": 1}, None)],
)
def test_v3_parallelism_follows_the_degrees(warehouse, tmp_path, fields, expert):
    ingest_path(write_releases(tmp_path / "ml-energy", [serving(**fields)]) / "v3", warehouse)

    chat = stored(warehouse, "ml-energy-v3").set_index("workload").loc["serving"]
    assert chat["parallelism"] == expert or (expert is None and pd.isna(chat["parallelism"]))


def test_v2_rows_convert_units_and_derive_power(warehouse, tmp_path):
    ingest_path(write_releases(tmp_path / "ml-energy") / "v2", warehouse)
    rows = stored(warehouse, "ml-energy-v2").set_index("workload")

    chat = rows.loc["serving"]
    assert (chat["hardware_name"], chat["task"], chat["num_devices"], chat["batch_size"]) == (
        H100_V2,
        "llm_text_generation/chat",
        4,
        128,
    )
    assert (chat["latency_ms"], chat["latency_kind"], chat["throughput"]) == pytest.approx((50.0, "token", 2000.0))
    # 800 J per request of 400 tokens at 2000 tokens/s: 2 J per token, 4000 W over the four GPUs
    assert (chat["energy_per_item_j"], chat["power_w"], chat["power_derived"]) == pytest.approx((2.0, 4000.0, True))
    assert (chat["parallelism"], chat["power_scope"]) == ("tensor", "accelerators")
    image = rows.loc["static_batch"]
    assert (image["task"], image["image_size"], image["batch_size"]) == ("text-to-image 1024x1024 25 steps", 1024, 4)
    # 4 images in 2 s: 2 images/s at 500 J each is 1000 W
    assert (image["throughput"], image["latency_ms"], image["power_w"], image["energy_per_item_j"]) == pytest.approx(
        (2.0, 2000.0, 1000.0, 500.0)
    )


def test_legacy_rows_are_single_requests_with_derived_power(warehouse, tmp_path):
    [report] = ingest_path(write_releases(tmp_path / "ml-energy") / "v2" / "data" / "legacy", warehouse)
    vicuna = stored(warehouse, "ml-energy-legacy").set_index("model_name").loc["lmsys/vicuna-7B"]

    assert report.rows_accepted == 2 and report.rows_skipped == 0
    assert (vicuna["hardware_name"], vicuna["task"], vicuna["workload"], vicuna["batch_size"]) == (
        "A100",
        "chat",
        "serving",
        1,
    )
    assert (vicuna["latency_ms"], vicuna["latency_kind"], vicuna["throughput"], vicuna["precision"]) == (
        10000.0,
        "request",
        25.0,
        "fp16",
    )
    # 2000 J per 250-token response that took 10 s
    assert (vicuna["energy_per_item_j"], vicuna["power_w"], vicuna["power_derived"]) == (8.0, 200.0, True)


def test_detect_claims_the_releases_and_nothing_else(tmp_path):
    root = write_releases(tmp_path / "ml-energy")
    v2_model = (
        root / "v2" / "data" / "llm_text_generation" / "chat" / H100_V2 / "meta-llama" / "Meta-Llama-3.1-70B-Instruct"
    )
    claimed = [
        root,
        root / "v3",
        root / "v3" / "tasks",
        root / "v3" / "tasks" / "gpqa.json",
        root / "v2",
        root / "v2" / "data" / "diffusion",
        v2_model,
        v2_model / "bs128+tp4+pp1.json",
        root / "v2" / "data" / "legacy",
    ]
    assert all(is_ml_energy(path) for path in claimed)
    others = tmp_path / "others"
    others.mkdir()
    canonical = canonical_csv(others, GOOD_ROWS)
    json_rows = write_json(others / "results.json", [{"model_name": "bert"}])
    pytorch_csv = others / "TITAN V_half_model_inference_benchmark.csv"
    pytorch_csv.write_text("resnet50,vgg16\n10.0,20.0\n")
    assert not any(is_ml_energy(path) for path in (tmp_path, others, canonical, json_rows, pytorch_csv))
    assert release_loads(root) == [root / "v2", root / "v2" / "data" / "legacy", root / "v3"]


@pytest.mark.parametrize(
    ("configuration", "location", "reason"),
    [
        (serving(avg_power_watts="hot"), "gpqa.json row 1, column power_w", "not a number: 'hot'"),
        (
            serving(output_throughput_tokens_per_sec=None),
            "gpqa.json row 1, column output_throughput_tokens_per_sec",
            "missing field",
        ),
        (serving(weight_precision="fp7"), "gpqa.json row 1, column precision", "unknown precision 'fp7'"),
        (serving(tensor_parallel="two"), "gpqa.json row 1, column tensor_parallel", "not a whole number: 'two'"),
    ],
)
def test_a_malformed_v3_configuration_stores_nothing(warehouse, tmp_path, configuration, location, reason):
    ingest_path(canonical_csv(tmp_path, GOOD_ROWS), warehouse)
    before = warehouse.row_counts()
    v3 = write_releases(tmp_path / "ml-energy", [configuration]) / "v3"

    with pytest.raises(IngestError) as raised:
        ingest_path(v3, warehouse)

    assert location in str(raised.value) and reason in str(raised.value)
    assert warehouse.row_counts() == before


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("lmsys/vicuna-7B,25.0,250.0,slow,2000.0", "latency", "not a number: 'slow'"),
        ("lmsys/vicuna-7B,fast,250.0,10.0,2000.0", "throughput", "not a number: 'fast'"),
        (",25.0,250.0,10.0,2000.0", "model", "missing field"),
    ],
)
def test_a_malformed_legacy_csv_stores_nothing(warehouse, tmp_path, row, column, reason):
    before = warehouse.row_counts()
    legacy = (
        write_releases(tmp_path / "ml-energy", legacy_rows=["BAIR/koala-13b,20.0,260.0,13.0,3120.0", row])
        / "v2"
        / "data"
        / "legacy"
    )

    with pytest.raises(IngestError) as raised:
        ingest_path(legacy, warehouse)

    assert f"A100_chat_benchmark.csv row 2, column {column}: {reason}" in str(raised.value)
    assert warehouse.row_counts() == before


@pytest.mark.skipif(not ML_ENERGY_DIR.is_dir(), reason="the public ML.ENERGY copy is not in ../shared/data")
def test_the_public_copy_reads_whole():
    tables = {read.source: read for read in map(read_ml_energy, release_loads(ML_ENERGY_DIR))}
    rows = {source: pd.concat(read.results.values()) for source, read in tables.items()}

    assert {source: len(frame) for source, frame in rows.items()} == {
        "ml-energy-v3": 888,
        "ml-energy-v2": 474,
        "ml-energy-legacy": 260,
    }
    assert not any(read.rejects for read in tables.values())
    v3 = rows["ml-energy-v3"]
    assert set(v3["hardware_name"]) == {"H100"} and set(v3["precision"]) == {"bfloat16", "fp8", "mxfp4"}
    assert (v3.groupby("workload")["latency_kind"].unique().map(list).to_dict()) == {
        "serving": ["token"],
        "static_batch": ["batch"],
    }
    assert (
        not v3["power_derived"].any() and (v3["power_w"] / v3["num_devices"] < 700).all()
    )  # NVML, under the H100's TDP
    assert set(rows["ml-energy-v2"]["hardware_name"]) == {"NVIDIA A100-SXM4-40GB", H100_V2}
    assert set(rows["ml-energy-legacy"]["hardware_name"]) == {"A100", "A40", "V100"}
    assert len(tables["ml-energy-v3"].catalog.models) == 46
