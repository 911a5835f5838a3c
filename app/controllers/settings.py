"""User settings kept with QSettings: engine options, overlay look, recent files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from PySide6.QtCore import QSettings

from app.views.overlay import OverlayMode
from vos_core import (
    AdaptConfig,
    MemoryConfig,
    SessionConfig,
    ThreadBudget,
    cuda_available,
    default_arch,
)

MAX_RECENT = 10


@dataclass(frozen=True)
class AppSettings:
    arch: str = field(default_factory=default_arch)  # the best shipped trained architecture
    memory_every: int = MemoryConfig().every
    working_size: int = MemoryConfig().working_size
    long_term_size: int = MemoryConfig().long_term_size
    process_height: int = 0  # frames processed at most this tall; 0 = the model's own height
    overlay_opacity: float = 0.5
    overlay_mode: str = OverlayMode.FILL.value
    low_confidence: float = 0.6
    follow: bool = True
    threads: int = 0  # engine CPU threads; 0 = automatic (all cores but one, kept for the GUI)
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    adapt: bool = AdaptConfig().enabled  # learn from the given masks when a run starts
    adapt_steps: int = AdaptConfig().steps  # optimiser steps of a full refit (the tests use few)

    def engine_threads(self) -> int:
        """The engine's threads: ``threads``, or all cores but one (kept for the GUI)."""
        return ThreadBudget.of(self.threads, reserve=1).total

    def session_config(self) -> SessionConfig:
        """The engine configuration these settings describe."""
        memory = MemoryConfig(
            every=self.memory_every, working_size=self.working_size, long_term_size=self.long_term_size
        )
        # a CUDA choice made on another machine (the settings are per user) falls back to "auto"
        device = "auto" if self.device == "cuda" and not cuda_available() else self.device
        return SessionConfig(
            arch=self.arch, process_height=self.process_height or None, threads=self.engine_threads(),
            memory=memory, device=device,
            # a refit runs before a run's frames, while the GUI waits: every core unless the user
            # chose a thread count (the engine's automatic count leaves one core to the GUI)
            adapt=AdaptConfig(
                enabled=self.adapt, threads=self.threads, steps=self.adapt_steps,
                warm_steps=min(AdaptConfig().warm_steps, self.adapt_steps),
            ),
        )

    @classmethod
    def load(cls, settings: QSettings | None = None) -> AppSettings:
        """Read from QSettings; missing or unreadable values keep their defaults."""
        store = settings or QSettings()
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            default = getattr(defaults, f.name)
            raw = store.value(f"settings/{f.name}", default)
            values[f.name] = _coerce(raw, default)
        try:
            loaded = cls(**values)
            loaded.session_config()
            OverlayMode(loaded.overlay_mode)
        except (TypeError, ValueError):
            return defaults
        return loaded

    def save(self, settings: QSettings | None = None) -> None:
        store = settings or QSettings()
        for name, value in asdict(self).items():
            store.setValue(f"settings/{name}", value)
        store.sync()

    def with_(self, **changes: Any) -> AppSettings:
        return replace(self, **changes)


def _coerce(raw: object, default: object) -> object:
    """QSettings (INI) gives strings back: convert to the default's type."""
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)  # type: ignore[arg-type]
        if isinstance(default, float):
            return float(raw)  # type: ignore[arg-type]
        return str(raw)
    except (TypeError, ValueError):
        return default


def recent_files(settings: QSettings | None = None) -> list[str]:
    store = settings or QSettings()
    value = store.value("recent/files", [])
    if isinstance(value, str):
        value = [value] if value else []
    return [str(v) for v in (value or [])][:MAX_RECENT]


def add_recent_file(path: str, settings: QSettings | None = None) -> list[str]:
    store = settings or QSettings()
    files = [path] + [p for p in recent_files(store) if p != path]
    files = files[:MAX_RECENT]
    store.setValue("recent/files", files)
    store.sync()
    return files


def remove_recent_file(path: str, settings: QSettings | None = None) -> list[str]:
    store = settings or QSettings()
    files = [p for p in recent_files(store) if p != path]
    store.setValue("recent/files", files)
    store.sync()
    return files
