"""Static pseudo-videos from every static set: the set option, multi-object images (one object per
instance id, at most ``max_objects``), small images, in the folder readers and in packs."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.core.train.pack_sources import make_davis, make_pack, make_static
from vos_core.data.masks import read_mask
from vos_core.data.pack import DataPack, write_pack
from vos_core.errors import VosInputError
from vos_core.train.cli import _names, config_from_args
from vos_core.train.config import STATIC_SETS, TrainConfig
from vos_core.train.data import Clip, StaticPseudoVideos
from vos_core.train.pack_clips import PackClipMaker

HW = (48, 64)


def _check(clip: Clip, hw: tuple[int, int], max_objects: int) -> None:
    assert clip.frames.shape == (3, *hw, 3) and clip.labels.shape == (3, *hw)
    assert 1 <= clip.n_objects <= max_objects and int(clip.labels.max()) <= clip.n_objects
    for obj in range(1, clip.n_objects + 1):
        assert (clip.labels[0] == obj).any()


def _counts(source: StaticPseudoVideos, n: int) -> Counter[int]:
    counts: Counter[int] = Counter()
    for index in range(n):
        clip = source.clip(index, 0)
        _check(clip, source.hw, source.max_objects)
        counts[clip.n_objects] += 1
    return counts


def test_every_static_set_by_default_and_the_option() -> None:
    assert STATIC_SETS == ("ecssd", "pascal_s", "weizmann_horse", "duts_tr", "pennfudan")
    base = ["--arch", "stcn", "--stage", "static"]
    assert config_from_args(base).static_sets == STATIC_SETS
    chosen = config_from_args([*base, "--static-sets", "duts_tr, pennfudan"]).static_sets
    assert chosen == ("duts_tr", "pennfudan")
    with pytest.raises(argparse.ArgumentTypeError):
        _names(" , ")
    with pytest.raises(ValueError, match="distinct"):
        TrainConfig(arch="stcn", stage="static", out=Path("x"), static_sets=("ecssd", "ecssd"))


def test_instances_of_a_multi_object_image_become_objects(tmp_path: Path) -> None:
    root = make_static(tmp_path / "static")  # 'people': images with two ids
    with pytest.raises(VosInputError, match="nowhere"):
        StaticPseudoVideos(root, HW, sets=("nowhere",))
    source = StaticPseudoVideos(root, HW, seed=0, sets=("people",))
    base = source._load_base(np.random.default_rng(0))[1]
    assert set(np.unique(base).tolist()) <= {0, 1, 2} and (base == 1).sum() >= (base == 2).sum()
    counts = _counts(source, 40)
    assert counts[2] + counts[3] > 0  # two pedestrians of one image, or one plus pastes
    single = StaticPseudoVideos(root, HW, seed=0, max_objects=1, sets=("people",))
    assert set(_counts(single, 20)) == {1}  # only the largest instance, no pastes


def test_pennfudan_clips_are_multi_object(shared_data_dir: Path) -> None:
    static = shared_data_dir / "static"
    if not (static / "pennfudan").is_dir():
        pytest.skip("no pennfudan in the shared data")
    mask = read_mask(next(iter(sorted((static / "pennfudan" / "masks").iterdir()))))
    assert int(mask.max()) >= 1
    source = StaticPseudoVideos(static, (128, 128), seed=0, sets=("pennfudan",))
    assert len(source.pairs) == 170
    counts = _counts(source, 30)
    assert counts[2] + counts[3] >= 10  # most street images show several pedestrians


def test_small_duts_images_cover_a_larger_crop(shared_data_dir: Path) -> None:
    static = shared_data_dir / "static"
    if not (static / "duts_tr").is_dir():
        pytest.skip("no duts_tr in the shared data")
    source = StaticPseudoVideos(static, (384, 384), seed=0, sets=("duts_tr",))
    assert len(source.pairs) == 10553
    _counts(source, 4)  # images of at most 256 px upscaled to cover the 384 crop
    everything = StaticPseudoVideos(static, (64, 64), seed=0)
    assert len(everything.pairs) == 12900


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> DataPack:
    return make_pack(tmp_path_factory.mktemp("pack-src"))


def test_pack_clips_keep_instances_as_objects(pack: DataPack) -> None:
    maker = PackClipMaker(pack, "static", HW, seed=0)
    people = next(g for g in pack.static_sets if g.name == "people")
    for item in people.items:
        ids, counts = maker.instances(int(item))
        assert ids.tolist() in ([1, 2], [2, 1]) and counts[0] >= counts[1] > 0
        y0, y1, x0, x1 = maker._instance_box(int(item), int(ids[1]))
        labels = pack.image(int(item))[1]
        assert (labels[y0:y1, x0:x1] == ids[1]).sum() == counts[1]
    _frames, labels, n = maker.make(range(40), 0)
    assert int(n.max()) >= 2 and int(n.max()) <= 3
    for b in range(40):
        assert int(labels[b].max()) <= int(n[b])
    single = PackClipMaker(pack, "static", HW, seed=0, max_objects=1)
    assert set(single.make(range(20), 0)[2].tolist()) == {1}


def test_pack_budget_thins_static_images_before_davis_frames(tmp_path: Path) -> None:
    davis, static = make_davis(tmp_path / "davis"), make_static(tmp_path / "static")
    full = write_pack(tmp_path / "full", 50, davis=davis, static=static, crop=64)
    small_mb = full["bytes"] * 0.23 / 2**20
    small = write_pack(tmp_path / "small", small_mb, davis=davis, static=static, crop=64)
    assert small["static_every"] > 1 and small["davis_stride"] == 1 and small["keep_every"] == 1
    assert any("1 static image in" in d and "every DAVIS sequence kept" in d for d in small["decisions"])
    kept = DataPack(tmp_path / "small")
    assert len(kept.sequences) == 2 and sum(g.items.size for g in kept.sequences) == 7 + 5
    assert sum(g.items.size for g in kept.static_sets) < 4 + 3
