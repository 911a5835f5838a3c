"""``--adapt/--no-adapt`` on the command-line tools, and the propagate run record's ``adapt``."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from vos_core import evaluate, propagate
from vos_core.cli_common import UsageError, session_config
from vos_core.config import AdaptConfig, SessionConfig

REQUIRED = {evaluate: [], propagate: ["frames", "--masks", "m.png", "--out", "out"]}


@pytest.mark.parametrize("tool", [evaluate, propagate])
@pytest.mark.parametrize(("flags", "enabled"), [([], AdaptConfig().enabled), (["--adapt"], True),
                                                (["--no-adapt"], False)])
def test_adapt_flags(tool: object, flags: list[str], enabled: bool) -> None:
    args = tool.build_parser().parse_args([*REQUIRED[tool], "--arch", "stcn", *flags])  # type: ignore[attr-defined]
    config = session_config(args)
    assert config.adapt == AdaptConfig(enabled=enabled)
    assert replace(config, adapt=AdaptConfig()) == SessionConfig(arch="stcn")


def test_adaptation_is_on_by_default() -> None:
    assert SessionConfig().adapt.enabled and AdaptConfig().method == "heads"


def test_run_record_keeps_adapt_and_old_records_read_as_without(tmp_path: Path) -> None:
    manifest = propagate.RunManifest(
        source="/v.mp4", frames=3, height=4, width=4, first_frame="f", masks="m", arch="stcn",
        weights=None, process_height=None, threads=1, backward=False, adapt=True,
    )
    propagate.write_manifest(tmp_path, manifest, complete=False)
    assert propagate.read_manifest(tmp_path) == (manifest, False)
    old = asdict(manifest)
    del old["adapt"]  # a record written before adaptation existed
    (tmp_path / propagate.MANIFEST_NAME).write_text(json.dumps({"run": old, "complete": False}))
    read, _ = propagate.read_manifest(tmp_path)
    assert read.adapt is False
    assert read.differences(manifest) == ["adapt (False, now True)"]


@pytest.mark.parametrize("tool", [evaluate, propagate])
def test_adapt_steps_copies_and_flip_flags(tool: object) -> None:
    args = tool.build_parser().parse_args(  # type: ignore[attr-defined]
        [*REQUIRED[tool], "--arch", "stcn", "--adapt-steps", "12", "--adapt-copies", "3", "--flip"]
    )
    config = session_config(args)
    assert (config.adapt.steps, config.adapt.copies, config.flip) == (12, 3, True)
    defaults = session_config(tool.build_parser().parse_args([*REQUIRED[tool], "--arch", "stcn"]))  # type: ignore[attr-defined]
    assert defaults == SessionConfig(arch="stcn") and not defaults.flip
    with pytest.raises((SystemExit, UsageError)):
        tool.build_parser().parse_args([*REQUIRED[tool], "--adapt-steps", "0"])  # type: ignore[attr-defined]


def test_run_record_keeps_the_adaptation_settings_and_flip() -> None:
    """A resumed run must have been started with the same steps, copies and flip (they change the
    masks); without adaptation the steps and copies do not matter."""
    def record(config: SessionConfig) -> dict[str, object]:
        return {k: v for k, v in asdict(_manifest(config)).items() if k.startswith(("adapt", "flip"))}

    assert record(SessionConfig()) == {"adapt": True, "adapt_steps": 60, "adapt_copies": 8, "flip": False}
    off = SessionConfig(adapt=AdaptConfig(enabled=False, steps=5))
    assert record(off) == {"adapt": False, "adapt_steps": None, "adapt_copies": None, "flip": False}
    assert record(SessionConfig(flip=True))["flip"] is True


def _manifest(config: SessionConfig) -> propagate.RunManifest:
    class Source:  # what a run record reads of a frame source
        path, size = "/v.mp4", (4, 6)

        def __len__(self) -> int:
            return 2

        def read(self, index: int) -> np.ndarray:
            return np.zeros((4, 6, 3), np.uint8)

    return propagate.RunManifest.of(Source(), {}, config, backward=False)  # type: ignore[arg-type]  # type: ignore[arg-type]


def test_the_refit_uses_the_threads_asked_for_on_the_command_line() -> None:
    """--threads binds the adaptation too; 0 (the default) lends it every core."""
    args = evaluate.build_parser().parse_args(["--arch", "stcn", "--threads", "1"])
    assert session_config(args).adapt.threads == 1
    assert session_config(evaluate.build_parser().parse_args(["--arch", "stcn"])).adapt.threads == 0
