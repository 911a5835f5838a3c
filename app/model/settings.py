"""``SessionConfig`` <-> JSON-able dict, for the project's settings snapshot."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from vos_core import AdaptConfig, MemoryConfig, ReadoutConfig, SessionConfig

log = logging.getLogger(__name__)


def config_to_dict(config: SessionConfig) -> dict[str, Any]:
    """A plain nested dict (json.dumps-able) of a session configuration."""
    return dataclasses.asdict(config)


def _known(cls: type, data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    names = {field.name for field in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def config_from_dict(data: object) -> SessionConfig:
    """Rebuild a configuration; unknown keys are ignored, an invalid snapshot gives the defaults."""
    values = _known(SessionConfig, data)
    try:
        memory = MemoryConfig(**_known(MemoryConfig, values.pop("memory", {})))
        readout = ReadoutConfig(**_known(ReadoutConfig, values.pop("readout", {})))
        adapt = AdaptConfig(**_known(AdaptConfig, values.pop("adapt", {})))  # older snapshots: none
        return SessionConfig(**values, memory=memory, readout=readout, adapt=adapt)
    except (TypeError, ValueError) as error:
        log.warning("ignoring invalid settings snapshot: %s", error)
        return SessionConfig()
