"""``--adapt/--no-adapt`` on the command-line tools, and the propagate run record's ``adapt``."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from vos_core import evaluate, propagate
from vos_core.cli_common import session_config
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
