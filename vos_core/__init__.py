"""The VOS engine's public API (Qt-free).

Names are resolved lazily (PEP 562), so ``import vos_core.data.masks`` stays light and importing
this package creates no import cycle::

    from vos_core import InferenceSession, SessionConfig, open_source
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from vos_core.threads import wait_passively

wait_passively()  # before anything loads torch: its OpenMP threads must not spin (vos_core.threads)

#: public name -> "module:attribute"
_EXPORTS: dict[str, str] = {
    # engine
    "InferenceSession": "vos_core.inference.session:InferenceSession",
    "SessionConfig": "vos_core.config:SessionConfig",
    "MemoryConfig": "vos_core.config:MemoryConfig",
    "ReadoutConfig": "vos_core.config:ReadoutConfig",
    "AdaptConfig": "vos_core.config:AdaptConfig",
    "FrameResult": "vos_core.inference.results:FrameResult",
    "CorrectionConfig": "vos_core.inference.correction:CorrectionConfig",
    "CorrectionRun": "vos_core.inference.correction:CorrectionRun",
    "CorrectionStats": "vos_core.inference.correction:CorrectionStats",
    "Timings": "vos_core.inference.results:Timings",
    "MemoryStats": "vos_core.memory.bank:MemoryStats",
    "EntryInfo": "vos_core.memory.entries:EntryInfo",
    "EntryKind": "vos_core.memory.entries:EntryKind",
    "ThreadBudget": "vos_core.threads:ThreadBudget",
    "cuda_available": "vos_core.devices:cuda_available",
    "device_label": "vos_core.devices:device_label",
    # architectures
    "default_arch": "vos_core.models.registry:default_arch",
    "get_spec": "vos_core.models.registry:get_spec",
    "arch_names": "vos_core.models.registry:arch_names",
    "usable_arch_names": "vos_core.models.registry:usable_arch_names",
    # frames and files
    "FrameSource": "vos_core.data.frames:FrameSource",
    "FrameCache": "vos_core.data.source_base:FrameCache",
    "open_source": "vos_core.data.frames:open_source",
    "read_mask": "vos_core.data.masks:read_mask",
    "write_mask": "vos_core.data.masks:write_mask",
    "davis_palette": "vos_core.data.masks:davis_palette",
    "masks_from_folder": "vos_core.data.masks:masks_from_folder",
    "mask_file_name": "vos_core.data.masks:mask_file_name",
    "check_label_map": "vos_core.data.masks:check_label_map",
    "LabelMapError": "vos_core.data.masks:LabelMapError",
    "DavisWriter": "vos_core.data.davis:DavisWriter",
    "DavisDataset": "vos_core.data.davis:DavisDataset",
    "DEV_SEQUENCES": "vos_core.data.davis:DEV_SEQUENCES",
    "read_annotations": "vos_core.data.davis:read_annotations",
    "safe_name": "vos_core.data.davis:safe_name",
    "atomic_write_bytes": "vos_core.data.atomic:atomic_write_bytes",
    "atomic_path": "vos_core.data.atomic:atomic_path",
    # annotation formats (COCO, YOLO-seg, CVAT for video)
    "EXPORT_FORMATS": "vos_core.formats:EXPORT_FORMATS",
    "ExportObject": "vos_core.formats:ExportObject",
    "export_frames": "vos_core.formats:export_frames",
    "format_writer": "vos_core.formats:format_writer",
    "describe_export": "vos_core.formats:describe_export",
    "describe_lines": "vos_core.formats:describe_lines",
    "read_labels": "vos_core.formats:read_labels",
    "guess_format": "vos_core.formats:guess_format",
    "ReviewMarks": "vos_core.formats.review:ReviewMarks",
    "write_review": "vos_core.formats.review:write_review",
    "read_review": "vos_core.formats.review:read_review",
    "review_file_name": "vos_core.formats.review:review_file_name",
    # errors
    "VosError": "vos_core.errors:VosError",
    "VosInputError": "vos_core.errors:VosInputError",
    "WeightsError": "vos_core.errors:WeightsError",
    "ProjectError": "vos_core.errors:ProjectError",
    # interactive tools
    "grabcut_box": "vos_core.interactive.grabcut:grabcut_box",
    "Click": "vos_core.interactive.clicks.simulate:Click",
    "ClickSegmenter": "vos_core.interactive.clicks.predictor:ClickSegmenter",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'vos_core' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(import_module(module), attr)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
