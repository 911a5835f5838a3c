"""python -m vos_core.clicks_eval on a tiny synthetic DAVIS-like folder and image folder."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.interactive.helpers import disk_image, make_davis, static_root
from vos_core.clicks_eval import main
from vos_core.data.masks import write_mask
from vos_core.interactive.clicks.data import is_heldout
from vos_core.interactive.clicks.model import ClickHead
from vos_core.weights import ModelCard, save_weights

LAST = re.compile(r"^NoC@85 (\d+\.\d+) NoC@90 (\d+\.\d+)$")


def _last_line(out: str) -> tuple[float, float]:
    match = LAST.match(out.strip().splitlines()[-1])
    assert match, out
    return float(match.group(1)), float(match.group(2))


def test_grabcut_on_first_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_davis(tmp_path / "davis")
    assert main(["--davis", str(root), "--sequences", "alpha,beta", "--method", "grabcut"]) == 0
    out = capsys.readouterr().out
    assert "alpha/00000#1" in out and "beta/00000#1" in out and "objects 2" in out
    assert "mIoU@1" in out and "mIoU@5" in out
    n85, n90 = _last_line(out)
    assert 1 <= n85 <= n90 <= 20


def test_model_on_all_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str], one_thread: None) -> None:
    root = make_davis(tmp_path / "davis", sequences=("alpha",), frames=2)
    weights = tmp_path / "w" / "clicks.pt"
    save_weights(ClickHead(), weights, ModelCard(arch="clicks", process_height=64))
    args = [
        "--davis",
        str(root),
        "--frames",
        "all",
        "--weights",
        str(weights),
        "--max-clicks",
        "3",
    ]
    assert main([*args, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "objects 2  method model" in out and "alpha/" not in out
    n85, n90 = _last_line(out)
    assert 1 <= n85 <= 3 and 1 <= n90 <= 3
    assert main([*args, "--frame-step", "2"]) == 0
    out = capsys.readouterr().out
    assert "objects 1  method model" in out and "alpha/00000#1" in out and "alpha/00001" not in out


def test_image_folder_heldout_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    stems = [f"img{i}" for i in range(12)]
    for i, stem in enumerate(stems):
        img, mask = disk_image(seed=i)
        cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), img[..., ::-1])
        write_mask(folder / "masks" / f"{stem}.png", mask.astype(np.uint8))
    held = [s for s in stems if is_heldout(s)]
    assert 0 < len(held) < len(stems)
    assert main(["--images", str(folder), "--split", "heldout", "--method", "grabcut"]) == 0
    out = capsys.readouterr().out
    assert f"objects {len(held)} " in out
    assert {line.split("#")[0] for line in out.splitlines() if "#" in line} == set(held)


def test_instance_set_prints_the_first_clicks_leak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = static_root(tmp_path / "static")
    args = ["--instances", str(root), "--composites", "2", "--method", "grabcut", "--max-clicks", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "leak@1" in out and "+d" in out and "pennfudan" in out
    leak = re.search(r"^leak@1 (\d\.\d+) \(objects with other instances (\d+), leaking >5%: (\d+)", out, re.M)
    assert leak and 0.0 <= float(leak.group(1)) <= 1.0 and int(leak.group(3)) <= int(leak.group(2))
    n85, n90 = _last_line(out)
    assert 1 <= n85 <= n90 <= 3


def test_bad_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--davis", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert main(["--method", "grabcut"]) == 2  # neither --davis nor --images
    assert main(["--images", str(tmp_path), "--instances", str(tmp_path)]) == 2  # two sources
    root = make_davis(tmp_path / "davis", sequences=("alpha",), frames=1)
    assert main(["--davis", str(root), "--weights", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err


def test_the_inference_flags_reach_the_segmenter() -> None:
    from vos_core.clicks_eval import _local, _zoom, build_parser
    from vos_core.interactive.clicks.local import LocalRefine
    from vos_core.interactive.clicks.zoom import ZoomIn

    args = build_parser().parse_args(
        [
            "--davis", "x", "--zoom-early", "1", "--zoom-early-gain", "3", "--zoom-early-band", "0.2",
            "--split-negative", "on", "--split-first", "on", "--refine-rel", "0.1",
        ]
    )  # fmt: skip
    zoom, local = _zoom(ZoomIn(), args), _local(LocalRefine(), args)
    assert zoom is not None and (zoom.early, zoom.early_gain, zoom.early_band) == (1, 3.0, 0.2)
    assert local is not None and local.split_negative and local.split_first and args.refine_rel == 0.1
    defaults = build_parser().parse_args(["--davis", "x"])
    assert _zoom(ZoomIn(), defaults) == ZoomIn() and _local(LocalRefine(), defaults) == LocalRefine()
