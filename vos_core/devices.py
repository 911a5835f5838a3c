"""The compute devices the engine runs on: what ``SessionConfig.device`` may name, which of them
this machine has, and what to call the one a session runs on."""

from __future__ import annotations

import torch

from vos_core.errors import VosInputError

#: the values of ``SessionConfig.device``: "auto" is CUDA when present, else the CPU
DEVICE_NAMES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    return torch.cuda.is_available()


def pick_device(name: str) -> torch.device:
    """``SessionConfig.device`` -> the device: "auto" is CUDA when torch sees one, else the CPU;
    "cuda" without CUDA is a :class:`VosInputError`."""
    if name not in DEVICE_NAMES:
        raise VosInputError(f"unknown device {name!r} (choose {', '.join(DEVICE_NAMES)})")
    cuda = cuda_available()
    if name == "cuda" and not cuda:
        raise VosInputError("the CUDA device was chosen but torch sees none (choose auto or cpu)")
    return torch.device("cuda" if name in ("auto", "cuda") and cuda else "cpu")


def device_label(device: torch.device | str) -> str:
    """A short name for the user: "CPU" or "CUDA (<GPU name>)"."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    return device.type.upper()
