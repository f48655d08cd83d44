"""The runtimes the local runner drives, each behind one small interface.

- ``cpu``: PyTorch eager on the CPU. fp32; bf16 (weights and activations cast to bfloat16);
  int8 = dynamic quantization of every ``nn.Linear`` (int8 weights, activations quantized per
  batch at run time); training = forward, backward and an AdamW step, fp32.
- ``onnxruntime``: ONNX Runtime's CPU execution provider on a graph exported from the same
  PyTorch module; int8 = ``onnxruntime.quantization.quantize_dynamic`` of that graph.
- ``openvino``: OpenVINO's CPU plugin on the same ONNX graph; fp32 and bf16 through
  ``INFERENCE_PRECISION_HINT``; int8 = NNCF post-training quantization (calibrated on random
  inputs: the weights are random too, so only speed and memory mean anything).

A backend is used in three steps, so that the runner can measure memory honestly:
``prepare()`` makes files (ONNX export, quantized copies; not counted), ``load()`` brings the model
into memory (counted), ``bind(batch, seq, image)`` makes inputs and returns a zero-argument
function that runs one iteration.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable
from pathlib import Path

from predictive_performance.benchmark.architectures import ArchitectureSpec
from predictive_performance.benchmark.architectures.torch_modules import (
    build_config,
    build_module,
    dynamic_axes,
    input_names,
    make_inputs,
)
from predictive_performance.benchmark.hardware import runtime_version

# Share of the weights that must sit in nn.Linear layers for dynamic int8 to mean "an int8 model".
MIN_LINEAR_SHARE_FOR_DYNAMIC_INT8 = 0.5
TRAINING_LEARNING_RATE = 1e-4

log = logging.getLogger(__name__)


class UnsupportedConfiguration(ValueError):
    """The runtime cannot run this combination (recorded as a failure with this message)."""


class Backend:
    platform = ""

    def __init__(
        self, spec: ArchitectureSpec, image_size: int | None, precision: str, mode: str, workdir: Path, threads: int
    ) -> None:
        self.spec = spec
        self.image_size = image_size
        self.precision = precision
        self.mode = mode
        self.workdir = workdir
        self.threads = threads

    @property
    def framework(self) -> str:
        raise NotImplementedError

    def prepare(self) -> None:
        """Make the files the runtime needs (not counted as the configuration's memory)."""

    def load(self) -> None:
        raise NotImplementedError

    def bind(self, batch_size: int, sequence_length: int | None, image_size: int | None) -> Callable[[], object]:
        raise NotImplementedError

    def close(self) -> None:
        """Drop references so the memory can be returned."""


# --------------------------------------------------------------------------------------------
# PyTorch eager
# --------------------------------------------------------------------------------------------


class TorchBackend(Backend):
    platform = "cpu"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.precision not in ("fp32", "bf16", "int8"):
            raise UnsupportedConfiguration(f"PyTorch on the CPU runs fp32, bf16 and int8, not {self.precision}")
        if self.mode == "training" and self.precision != "fp32":
            raise UnsupportedConfiguration(f"training is measured in fp32 only, not {self.precision}")
        self.module = None
        self.optimizer = None

    @property
    def framework(self) -> str:
        return runtime_version("torch") or "torch"

    def prepare(self) -> None:
        # Import the model's code now, so that module imports are not counted as its memory.
        import torch

        torch.set_num_threads(self.threads)
        import_model_code(self.spec, self.image_size)
        torch.ones(64, 64) @ torch.ones(64, 64)  # thread pool up

    def load(self) -> None:
        import torch

        torch.set_num_threads(self.threads)
        module = build_module(self.spec, self.image_size)
        if self.precision == "bf16":
            module = module.to(torch.bfloat16)
        elif self.precision == "int8":
            module = _quantize_dynamic(module, self.spec.name)
        if self.mode == "training":
            module.train()
            self.optimizer = torch.optim.AdamW(module.parameters(), lr=TRAINING_LEARNING_RATE)
        self.module = module

    def bind(self, batch_size, sequence_length, image_size):
        import torch

        inputs = make_inputs(self.spec, batch_size, sequence_length, image_size)
        if self.precision == "bf16":
            inputs = tuple(t.to(torch.bfloat16) if t.is_floating_point() else t for t in inputs)
        module = self.module
        if self.mode == "training":
            optimizer = self.optimizer

            def step():
                optimizer.zero_grad(set_to_none=True)
                output = module(*inputs)
                loss = output.float().pow(2).mean()
                loss.backward()
                optimizer.step()
                return loss

            return step

        def forward():
            with torch.inference_mode():
                return module(*inputs)

        return forward

    def close(self) -> None:
        self.module = None
        self.optimizer = None


def import_model_code(spec: ArchitectureSpec, image_size: int | None) -> None:
    import transformers

    config = build_config(spec, image_size)
    model_class = getattr(transformers, spec.model_class)
    mapping = getattr(model_class, "_model_mapping", None)
    if mapping is not None:
        try:
            mapping[type(config)]
        except KeyError:
            pass


def _quantize_dynamic(module, model_name: str):
    import torch

    module = _conv1d_to_linear(module)
    embedding = sum(
        p.numel() for m in module.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters(recurse=False)
    )
    linear = sum(
        p.numel() for m in module.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters(recurse=False)
    )
    compute = sum(p.numel() for p in module.parameters()) - embedding  # lookups are not compute
    share = linear / compute if compute else 0.0
    if share < MIN_LINEAR_SHARE_FOR_DYNAMIC_INT8:
        raise UnsupportedConfiguration(
            f"int8 dynamic quantization covers nn.Linear only, which holds {share:.0%} of {model_name}'s "
            f"non-embedding weights (needs at least {MIN_LINEAR_SHARE_FOR_DYNAMIC_INT8:.0%}); the rest would stay fp32"
        )
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    for preferred in ("x86", "fbgemm", "onednn", "qnnpack"):
        if preferred in engines:
            torch.backends.quantized.engine = preferred
            break
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


def _conv1d_to_linear(module):
    """GPT-2 style ``Conv1D`` layers are linear layers with a transposed weight: make them
    ``nn.Linear`` so that dynamic quantization sees them (the maths is unchanged)."""
    import torch

    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:
        return module
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                n_in, n_out = child.weight.shape
                linear = torch.nn.Linear(n_in, n_out, bias=child.bias is not None)
                with torch.no_grad():
                    linear.weight.copy_(child.weight.t())
                    if child.bias is not None:
                        linear.bias.copy_(child.bias)
                setattr(parent, name, linear)
    return module


# --------------------------------------------------------------------------------------------
# ONNX export shared by ONNX Runtime and OpenVINO
# --------------------------------------------------------------------------------------------


def export_onnx(spec: ArchitectureSpec, image_size: int | None, workdir: Path) -> Path:
    """Export the fp32 module once per (model, image size) into ``workdir``; returns the path.

    The TorchScript exporter (``dynamo=False``) is tried first (fast, dynamic axes by name); the
    torch.export-based exporter is the fallback.
    """
    import torch

    suffix = f"-{image_size}" if image_size and spec.uses_image_size and not spec.image_size_agnostic else ""
    path = workdir / f"{spec.name}{suffix}.onnx"
    if path.exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    module = build_module(spec, image_size)
    example = make_inputs(spec, 2, _export_length(spec), image_size)
    names = input_names(spec)
    errors = []
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module,
                example,
                str(path),
                dynamo=False,
                input_names=names,
                output_names=["output"],
                dynamic_axes=dynamic_axes(spec),
                opset_version=17,
            )
        except Exception as error:  # noqa: BLE001 - fall back to the other exporter
            errors.append(f"TorchScript exporter: {type(error).__name__}: {error}")
            try:
                shapes = tuple(
                    {axis: torch.export.Dim.AUTO for axis in dynamic_axes(spec).get(name, {})} or None for name in names
                )
                program = torch.onnx.export(
                    module, example, dynamo=True, input_names=names, output_names=["output"], dynamic_shapes=shapes
                )
                program.save(str(path))
            except Exception as second:  # noqa: BLE001
                errors.append(f"dynamo exporter: {type(second).__name__}: {second}")
                path.unlink(missing_ok=True)
                raise UnsupportedConfiguration("ONNX export failed: " + " | ".join(e[:300] for e in errors)) from second
    del module
    return path


def _export_length(spec: ArchitectureSpec) -> int | None:
    if not spec.uses_sequence_length:
        return None
    fixed = spec.extra.get("fixed_sequence_length")
    if fixed:
        return int(fixed)
    return (
        min(spec.sequence_lengths[-1] if spec.sequence_lengths else 16, 16)
        if spec.modality != "audio"
        else spec.sequence_lengths[0]
    )


def _numpy_inputs(spec: ArchitectureSpec, batch_size, sequence_length, image_size) -> dict:
    tensors = make_inputs(spec, batch_size, sequence_length, image_size)
    return {name: tensor.numpy() for name, tensor in zip(input_names(spec), tensors)}


def _calibration_inputs(spec: ArchitectureSpec, image_size: int | None, count: int) -> list[dict]:
    length = spec.default_sequence_length()
    if spec.modality == "text":
        length = min(length or 128, 128)
    return [
        {
            name: tensor.numpy()
            for name, tensor in zip(input_names(spec), make_inputs(spec, 1, length, image_size, seed=i))
        }
        for i in range(count)
    ]


# --------------------------------------------------------------------------------------------
# ONNX Runtime
# --------------------------------------------------------------------------------------------


class OnnxRuntimeBackend(Backend):
    platform = "onnxruntime"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.mode != "inference":
            raise UnsupportedConfiguration("ONNX Runtime is measured in inference mode only")
        if self.precision not in ("fp32", "int8"):
            raise UnsupportedConfiguration(f"ONNX Runtime on the CPU runs fp32 and int8, not {self.precision}")
        self.model_path: Path | None = None
        self.session = None

    @property
    def framework(self) -> str:
        return runtime_version("onnxruntime") or "onnxruntime"

    def prepare(self) -> None:
        path = export_onnx(self.spec, self.image_size, self.workdir)
        if self.precision == "int8":
            path = quantize_onnx_dynamic(path)
        self.model_path = path

    def load(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])

    def bind(self, batch_size, sequence_length, image_size):
        feed = _numpy_inputs(self.spec, batch_size, sequence_length, image_size)
        session = self.session
        return lambda: session.run(None, feed)

    def close(self) -> None:
        self.session = None


def quantize_onnx_dynamic(path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name(path.stem + ".int8.onnx")
    if target.exists():
        return target
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic warns about pre-processing on every call
    try:
        quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8)
    except Exception as error:  # noqa: BLE001
        target.unlink(missing_ok=True)
        raise UnsupportedConfiguration(
            f"ONNX Runtime dynamic quantization failed: {type(error).__name__}: {error}"
        ) from error
    finally:
        root.setLevel(level)
    return target


# --------------------------------------------------------------------------------------------
# OpenVINO
# --------------------------------------------------------------------------------------------

_OV_PRECISION_HINT = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}
OPENVINO_CALIBRATION_SAMPLES = 4


class OpenVinoBackend(Backend):
    platform = "openvino"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.mode != "inference":
            raise UnsupportedConfiguration("OpenVINO is measured in inference mode only")
        if self.precision not in _OV_PRECISION_HINT:
            raise UnsupportedConfiguration(f"OpenVINO on the CPU runs fp32, bf16, fp16 and int8, not {self.precision}")
        self.model_path: Path | None = None
        self.compiled = None
        self.request = None

    @property
    def framework(self) -> str:
        return runtime_version("openvino") or "openvino"

    def prepare(self) -> None:
        self.model_path = export_onnx(self.spec, self.image_size, self.workdir)
        if self.precision != "int8":
            return
        target = self.model_path.with_name(self.model_path.stem + ".ov-int8.xml")
        if not target.exists():
            quantized = _nncf_quantize(self.model_path, self.spec, self.image_size)
            import openvino as ov

            ov.save_model(quantized, str(target))
        self.model_path = target

    def load(self) -> None:
        import openvino as ov

        core = _core()
        capabilities = set(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        if self.precision == "bf16" and "BF16" not in capabilities:
            raise UnsupportedConfiguration("this CPU has no bf16 support in OpenVINO (no AVX512_BF16 or AMX)")
        if self.precision == "fp16" and "FP16" not in capabilities:
            raise UnsupportedConfiguration("this CPU has no fp16 support in OpenVINO")
        model = core.read_model(str(self.model_path))
        config = {
            "INFERENCE_PRECISION_HINT": _OV_PRECISION_HINT[self.precision],
            "INFERENCE_NUM_THREADS": self.threads,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
        }
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        del ov

    def bind(self, batch_size, sequence_length, image_size):
        feed = _numpy_inputs(self.spec, batch_size, sequence_length, image_size)
        request = self.request
        return lambda: request.infer(feed, share_inputs=True, share_outputs=True)

    def close(self) -> None:
        self.request = None
        self.compiled = None


_CORE = None


def _core():
    global _CORE
    if _CORE is None:
        import openvino as ov

        _CORE = ov.Core()
    return _CORE


def _nncf_quantize(path: Path, spec: ArchitectureSpec, image_size: int | None):
    try:
        import nncf
    except ImportError as error:
        raise UnsupportedConfiguration("OpenVINO int8 needs NNCF (pip install nncf)") from error
    logging.getLogger("nncf").setLevel(logging.ERROR)
    model = _core().read_model(str(path))
    samples = _calibration_inputs(spec, image_size, OPENVINO_CALIBRATION_SAMPLES)
    model_type = nncf.ModelType.TRANSFORMER if spec.modality != "vision" or spec.family in ("vit", "deit") else None
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            # Bias correction and SmoothQuant only protect accuracy, which random weights do not
            # have; they would cost minutes per model here.
            advanced = nncf.AdvancedQuantizationParameters(
                disable_bias_correction=True,
                smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(convolution=-1, matmul=-1),
            )
            return nncf.quantize(
                model,
                nncf.Dataset(samples),
                model_type=model_type,
                subset_size=len(samples),
                fast_bias_correction=True,
                advanced_parameters=advanced,
            )
    except Exception as error:  # noqa: BLE001
        raise UnsupportedConfiguration(f"NNCF int8 quantization failed: {type(error).__name__}: {error}") from error


BACKENDS: dict[str, type[Backend]] = {
    "cpu": TorchBackend,
    "onnxruntime": OnnxRuntimeBackend,
    "openvino": OpenVinoBackend,
}


def make_backend(
    platform: str,
    spec: ArchitectureSpec,
    image_size: int | None,
    precision: str,
    mode: str,
    workdir: Path,
    threads: int,
) -> Backend:
    try:
        backend_class = BACKENDS[platform]
    except KeyError:
        raise UnsupportedConfiguration(
            f"the local runner drives {', '.join(BACKENDS)}; platform {platform!r} needs its own device and runner"
        ) from None
    return backend_class(spec, image_size, precision, mode, workdir, threads)
