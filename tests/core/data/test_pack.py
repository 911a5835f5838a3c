"""Training pack: contents, exclusion of the dev split, size budget decisions, reader, command line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.train.pack_sources import DAVIS_HW, make_davis, make_static
from vos_core.data.masks import read_mask
from vos_core.data.pack import DAVIS, STATIC, DataPack, stored_size, write_pack
from vos_core.datapack import main as datapack_main
from vos_core.errors import VosInputError


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sources")
    return make_davis(root / "davis"), make_static(root / "static")


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir())


def test_pack_holds_every_training_image_once_at_the_training_scale(sources: tuple[Path, Path],
                                                                    tmp_path: Path) -> None:
    davis, static = sources
    manifest = write_pack(tmp_path / "pack", 50, davis=davis, static=static, crop=64)
    pack = DataPack(tmp_path / "pack")
    assert [g.name for g in pack.sequences] == ["alpha", "beta"]  # lucia (dev) excluded
    assert sorted(g.name for g in pack.static_sets) == ["people", "shapes"]
    assert manifest["factor"] == 1.0 and manifest["davis_stride"] == 1 and manifest["keep_every"] == 1
    assert manifest["items"] == 7 + 5 + 4 + 3 == len(pack.items)
    assert "lucia" in manifest["excluded_sequences"]
    assert any("CC BY 4.0" in s["licence"] for s in manifest["sources"])
    # DAVIS frames stored at most 1.25 x crop rows (80 of 96), in frame order
    alpha = pack.sequences[0]
    assert pack.items[alpha.items, 5].tolist() == list(range(7))
    rgb, labels = pack.image(int(alpha.items[3]))
    assert rgb.shape == (80, round(DAVIS_HW[1] * 80 / DAVIS_HW[0]), 3) and labels.shape == rgb.shape[:2]
    src = cv2.cvtColor(cv2.imread(str(davis / "JPEGImages/480p/alpha/00003.jpg")), cv2.COLOR_BGR2RGB)
    expected = cv2.resize(src, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.array_equal(rgb, expected)
    gt = read_mask(davis / "Annotations/480p/alpha/00003.png")
    size = (rgb.shape[1], rgb.shape[0])
    assert np.array_equal(labels, cv2.resize(gt, size, interpolation=cv2.INTER_NEAREST))
    # static images are never enlarged; labels keep their ids; the bounding box matches the labels
    for group in pack.static_sets:
        for item in group.items:
            img, lab = pack.image(int(item))
            assert pack.items[item, 3] == STATIC and img.shape[:2] == lab.shape
            y0, y1, x0, x1 = pack.items[item, 6:10]
            if lab.any():
                ys, xs = np.nonzero(lab)
                assert (y0, y1, x0, x1) == (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)
            else:
                assert y0 == -1
    people = next(g for g in pack.static_sets if g.name == "people")
    assert max(int(pack.image(int(i))[1].max()) for i in people.items) == 2
    assert isinstance(pack.rgb, np.memmap) and _folder_bytes(tmp_path / "pack") <= 50 * 2**20


def test_budget_downscales_then_thins_deterministically(sources: tuple[Path, Path], tmp_path: Path) -> None:
    davis, static = sources
    full = write_pack(tmp_path / "full", 50, davis=davis, static=static, crop=64)
    budget_mb = full["bytes"] * 0.5 / 2**20
    half = write_pack(tmp_path / "half", budget_mb, davis=davis, static=static, crop=64)
    assert half["factor"] < 1 and half["bytes"] <= budget_mb * 2**20
    assert any("downscaled" in d for d in half["decisions"])
    tiny_mb = full["bytes"] * 0.09 / 2**20
    tiny = write_pack(tmp_path / "tiny", tiny_mb, davis=davis, static=static, crop=64)
    assert tiny["keep_every"] > 1 and tiny["davis_stride"] == 3 and tiny["bytes"] <= tiny_mb * 2**20
    assert _folder_bytes(tmp_path / "tiny") <= tiny_mb * 2**20
    assert DataPack(tmp_path / "tiny").stride == 3
    again = write_pack(tmp_path / "again", tiny_mb, davis=davis, static=static, crop=64)
    assert again == tiny | {"max_mb": tiny_mb}
    for name in ("rgb.npy", "labels.npy", "items.npy"):
        assert (tmp_path / "tiny" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    with pytest.raises(VosInputError, match="too small"):
        write_pack(tmp_path / "none", 0.005, davis=davis, static=static, crop=64)
    assert not (tmp_path / "none").exists()


def test_stored_size_follows_the_training_scale() -> None:
    assert stored_size((480, 854), DAVIS, 384, 1.0) == (480, 854)
    assert stored_size((480, 854), DAVIS, 256, 1.0) == (320, 569)
    assert stored_size((300, 400), STATIC, 384, 1.0) == (300, 400)  # never enlarged
    assert stored_size((300, 400), STATIC, 100, 0.5) == (65, 87)


def test_reader_rejects_what_is_not_a_pack(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="not a training pack"):
        DataPack(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(VosInputError, match="not a vos-training-pack"):
        DataPack(tmp_path)


def test_command_line(sources: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    davis, static = sources
    out = tmp_path / "pack"
    args = ["--out", str(out), "--max-mb", "5", "--davis", str(davis), "--static", str(static),
            "--crop", "64", "--sets", "shapes", "--quiet"]
    assert datapack_main(args) == 0
    text = capsys.readouterr().out
    assert "2 DAVIS sequences, 4 static images" in text
    assert DataPack(out).manifest["crop"] == 64
    assert datapack_main(args) == 2  # the folder exists and is not empty
    assert "exists" in capsys.readouterr().err
    assert datapack_main(["--out", str(tmp_path / "x"), "--max-mb", "5", "--davis", str(tmp_path / "no"),
                          "--no-static"]) == 2
