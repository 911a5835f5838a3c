"""Training: loss goes down, exact resume, weights files, distributed run, data (tiny and fast)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from vos_core.config import SessionConfig
from vos_core.errors import VosInputError, WeightsError
from vos_core.inference.session import InferenceSession
from vos_core.models.registry import build_model, get_spec, trainable_names
from vos_core.train.cli import config_from_args
from vos_core.train.clip import ClipRunner
from vos_core.train.config import TrainConfig
from vos_core.train.data import (
    DEV_SEQUENCES,
    ClipDataset,
    DavisClips,
    IterationSampler,
    MixedClips,
    StaticPseudoVideos,
    SyntheticClips,
    collate,
    curriculum_skip,
)
from vos_core.train.trainer import Trainer, build_heads, trainable_archs
from vos_core.weights import ModelCard, card_path, load_weights, read_card, save_weights, sha256_of

ROOT = Path(__file__).resolve().parents[3]
ARCHS = tuple(trainable_names())
HW = (64, 96)


pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(n: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ds = ClipDataset(SyntheticClips(HW, frames=3, seed=1), n)
    return collate([ds[i] for i in range(n)])


def _config(tmp_path: Path, **kw: object) -> TrainConfig:
    base: dict[str, object] = dict(arch="stcn", stage="synthetic", out=tmp_path / "run", crop=HW, batch=1,
                                   iters=3, lr=1e-3, threads=1, quiet=True, checkpoint_minutes=60.0)
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def _run(config: TrainConfig) -> tuple[Trainer, tuple[float, ...]]:
    trainer = Trainer(config)
    try:
        result = trainer.run()
    finally:
        trainer.close()
    return trainer, result.losses


def test_every_registered_learned_arch_is_trainable() -> None:
    assert set(ARCHS) == set(trainable_archs())


@pytest.mark.parametrize("arch", ARCHS)
def test_a_few_steps_reduce_the_loss(arch: str) -> None:
    model = build_heads(arch, seed=0).train()
    runner = ClipRunner(model)
    batch = _batch()
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    losses = []
    for _ in range(6):
        loss, stats = runner(*batch)
        assert torch.isfinite(loss) and 0.0 <= stats.iou <= 1.0
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert min(losses[-2:]) < losses[0], losses


def test_resume_continues_exactly(tmp_path: Path) -> None:
    _, straight = _run(_config(tmp_path / "a"))
    assert len(straight) == 3
    first, part = _run(_config(tmp_path / "b", stop_at=2))
    assert first.iteration == 2 and part == straight[:2]
    assert (tmp_path / "b" / "run" / "checkpoint.pt").is_file()
    resumed, rest = _run(_config(tmp_path / "b", resume=True))
    assert resumed.iteration == 3
    assert rest == (straight[2],)  # bit-identical next step
    log = (tmp_path / "b" / "run" / "train.log").read_text()
    assert "resumed" in log and "it 3 loss" in log


def test_interrupt_and_time_limit_stop_with_checkpoint_and_weights(tmp_path: Path) -> None:
    trainer = Trainer(_config(tmp_path / "i", iters=5))
    trainer._stop_requested = True  # as if Ctrl-C arrived during the first step
    try:
        result = trainer.run()
    finally:
        trainer.close()
    assert result.interrupted and result.iteration == 1
    out = tmp_path / "i" / "run"
    assert (out / "checkpoint.pt").is_file() and (out / "stcn.pt").is_file()
    _, losses = _run(_config(tmp_path / "t", iters=5, max_minutes=0.0))
    assert len(losses) == 1


def test_weights_round_trip_and_registry_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_heads("stcn", seed=0)
    path = tmp_path / "stcn.pt"
    card = save_weights(model, path, ModelCard(arch="stcn", data="synthetic", steps=3))
    assert card_path(path).is_file() and len(card.sha256) == 64
    assert card.params == sum(v.numel() for v in model.state_dict().values() if v.is_floating_point())
    saved = json.loads(card_path(path).read_text())
    assert saved["arch"] == "stcn" and saved["encoder_frozen"] is True and saved["sha256"] == card.sha256
    other = build_heads("stcn", seed=1)
    loaded = load_weights(other, path)
    assert loaded.sha256 == card.sha256 and other.trained
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)
    # the registry builds with the shipped file when it exists
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path))
    assert get_spec("stcn").trained and not get_spec("gcm").trained
    built = build_model(SessionConfig(arch="stcn", accelerate=False, threads=1))
    assert built.trained
    assert torch.equal(built.state_dict()["key_proj.proj.weight"], model.state_dict()["key_proj.proj.weight"])


def test_card_process_height_is_the_sessions_default(tmp_path: Path) -> None:
    path = tmp_path / "stcn.pt"
    save_weights(build_heads("stcn", seed=0), path, ModelCard(arch="stcn", process_height=256))
    model = build_heads("stcn")
    assert model.process_height == 480  # no card: the engine's height
    load_weights(model, path)
    assert model.process_height == 256
    session = InferenceSession(None, SessionConfig(threads=1), model=model)
    assert session.process_height == 256
    frame, mask = np.zeros((480, 640, 3), np.uint8), np.zeros((480, 640), np.uint8)
    mask[100:200, 100:200] = 1
    assert session.annotate(0, mask, frame).probs.shape[-2:] == (256, 341)
    override = InferenceSession(None, SessionConfig(threads=1, process_height=320), model=model)
    assert override.process_height == 320  # an explicit height wins over the card's
    card = json.loads(card_path(path).read_text())
    card["process_height"] = 8
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="process_height"):
        load_weights(build_heads("stcn"), path)


def test_warm_start_copies_shared_parts_and_records_them(tmp_path: Path) -> None:
    source = build_heads("stcn", seed=3)
    src_path = tmp_path / "stcn.pt"
    save_weights(source, src_path, ModelCard(arch="stcn", data="synthetic", steps=7, wall_time_s=60.0))
    trainer, losses = _run(_config(tmp_path / "w", arch="strn", iters=1, warm_start=src_path))
    assert len(losses) == 1
    assert trainer.warm is not None and "key_proj.proj.weight" in trainer.warm.loaded
    assert any(k.startswith("ptm.") for k in trainer.warm.fresh)
    fresh = build_heads("strn", seed=0).state_dict()
    copied = trainer.warm.loaded[0]
    assert not torch.equal(fresh[copied], source.state_dict()[copied])  # really copied, not the seed's init
    card = json.loads(card_path(tmp_path / "w" / "run" / "strn.pt").read_text())
    assert card["arch"] == "strn" and "warm-started from stcn" in card["notes"] and "ptm" in card["notes"]
    log = (tmp_path / "w" / "run" / "train.log").read_text()
    assert "warm start from" in log

    # nothing in common, or both --init and --warm-start: clear errors
    unrelated = tmp_path / "other.pt"
    torch.save({"nothing.weight": torch.zeros(1)}, unrelated)
    card = ModelCard(arch="stcn", sha256=__import__("hashlib").sha256(unrelated.read_bytes()).hexdigest())
    card_path(unrelated).write_text(card.to_json())
    with pytest.raises(WeightsError, match="share no tensor"):
        Trainer(_config(tmp_path / "x", arch="strn", warm_start=unrelated))
    with pytest.raises(VosInputError, match="exclude"):
        Trainer(_config(tmp_path / "y", arch="strn", warm_start=src_path, init=src_path))


def test_init_card_counts_every_stage(tmp_path: Path) -> None:
    first = tmp_path / "stcn.pt"
    save_weights(build_heads("stcn", seed=0), first,
                 ModelCard(arch="stcn", data="static stage", steps=100, wall_time_s=600.0))
    _run(_config(tmp_path / "v", iters=2, init=first))
    card = json.loads(card_path(tmp_path / "v" / "run" / "stcn.pt").read_text())
    assert card["steps"] == 102 and card["wall_time_s"] >= 600.0
    assert card["data"].startswith("static stage; then synthetic")


def test_growing_a_model_with_tuned_encoder_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm-starting the same architecture with fine-tuned encoder blocks: the heads are copied, the
    blocks start from ImageNet, the card counts both runs and says the encoder is not frozen."""
    from vos_core.models.archs.stcn import StcnConfig, StcnModel
    from vos_core.models.encoders.runner import FrozenEncoder
    from vos_core.models.registry import pretrained_lite0

    first = tmp_path / "stcn.pt"
    frozen = StcnModel(FrozenEncoder(pretrained_lite0(), accelerate=False), StcnConfig(tuned_blocks=0))
    save_weights(frozen, first, ModelCard(arch="stcn", data="static stage", steps=100, wall_time_s=600.0))
    monkeypatch.setattr("vos_core.train.trainer.trainable_archs",
                        lambda: {"stcn": lambda enc: StcnModel(enc, StcnConfig(tuned_blocks=1))})
    trainer, _ = _run(_config(tmp_path / "t", iters=2, warm_start=first))
    assert trainer.warm is not None and all(k.startswith("tuned.") for k in trainer.warm.fresh)
    card = json.loads(card_path(tmp_path / "t" / "run" / "stcn.pt").read_text())
    assert card["steps"] == 102 and card["wall_time_s"] >= 600.0 and card["encoder_frozen"] is False
    assert card["data"].startswith("static stage; then synthetic") and "fine-tuned" in card["notes"]
    assert any(k.startswith("tuned.0.") for k in torch.load(tmp_path / "t" / "run" / "stcn.pt").keys())


def test_bad_weights_raise_weights_error(tmp_path: Path) -> None:
    model = build_heads("stcn")
    path = tmp_path / "stcn.pt"
    save_weights(model, path, ModelCard(arch="stcn"))
    good = path.read_bytes()
    card = card_path(path).read_text()

    path.write_bytes(good[:-100] + b"x" * 100)  # corrupt: hash mismatch
    with pytest.raises(WeightsError, match="hash"):
        load_weights(build_heads("stcn"), path)

    path.write_bytes(b"not a torch file")  # corrupt and re-hashed: unreadable
    fake = json.loads(card)
    fake["sha256"] = __import__("hashlib").sha256(b"not a torch file").hexdigest()
    card_path(path).write_text(json.dumps(fake))
    with pytest.raises(WeightsError, match="cannot be read"):
        load_weights(build_heads("stcn"), path)

    path.write_bytes(good)
    card_path(path).write_text(card)
    with pytest.raises(WeightsError, match="architecture 'stcn'"):
        load_weights(build_heads("gcm"), path)  # a card for another arch

    wrong = tmp_path / "gcm.pt"
    save_weights(build_heads("stcn"), wrong, ModelCard(arch="stcn"))
    fake = json.loads(card_path(wrong).read_text())
    fake["arch"] = "gcm"
    card_path(wrong).write_text(json.dumps(fake))
    with pytest.raises(WeightsError, match="do not match"):
        load_weights(build_heads("gcm"), wrong)  # keys differ

    card_path(path).unlink()
    with pytest.raises(WeightsError, match="model card"):
        load_weights(build_heads("stcn"), path)
    with pytest.raises(WeightsError, match="not found"):
        load_weights(build_heads("stcn"), tmp_path / "missing.pt")


def test_cli_arguments(tmp_path: Path) -> None:
    cfg = config_from_args(["--arch", "gcm", "--stage", "video", "--crop", "384", "--batch", "2",
                            "--iters", "10", "--seed", "3", "--max-minutes", "1.5", "--resume",
                            "--out", str(tmp_path)])
    got = (cfg.arch, cfg.stage, cfg.crop, cfg.batch, cfg.iters, cfg.seed)
    assert got == ("gcm", "video", (384, 384), 2, 10, 3)
    assert cfg.max_minutes == 1.5 and cfg.resume and cfg.out == tmp_path
    assert config_from_args(["--arch", "stcn", "--stage", "static", "--crop", "64x96"]).crop == (64, 96)
    with pytest.raises(SystemExit):
        config_from_args(["--arch", "stcn", "--stage", "static", "--crop", "100"])
    assert cfg.top_p_at(0) == 1.0 and cfg.top_p_at(10) == pytest.approx(cfg.top_p)
    assert cfg.lr_at(9) == pytest.approx(cfg.lr * 0.1) and cfg.lr_at(0) == cfg.lr


def test_sampling_is_a_function_of_seed_and_index() -> None:
    source = SyntheticClips(HW, seed=5)
    a, b = source.clip(7, 0), source.clip(7, 0)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.frames, source.clip(8, 0).frames)
    rank0 = list(IterationSampler(2, 4, batch=2, rank=0, world=2))
    rank1 = list(IterationSampler(2, 4, batch=2, rank=1, world=2))
    assert rank0 == [8, 9, 12, 13] and rank1 == [10, 11, 14, 15]
    assert curriculum_skip(0, 100) == 2 and curriculum_skip(100, 100) == 15
    assert curriculum_skip(30, 100) < curriculum_skip(50, 100)


def test_mixed_clips_interleave_their_sources() -> None:
    a, b = SyntheticClips(HW, seed=1), SyntheticClips(HW, seed=2)
    mixed = MixedClips([a, b])
    assert np.array_equal(mixed.clip(0, 0).frames, a.clip(0, 0).frames)
    assert np.array_equal(mixed.clip(1, 0).frames, b.clip(0, 0).frames)
    assert np.array_equal(mixed.clip(5, 3).frames, b.clip(2, 3).frames)
    with pytest.raises(ValueError, match="same size"):
        MixedClips([a, SyntheticClips((32, 32), seed=1)])
    assert config_from_args(["--arch", "stcn", "--stage", "mixed"]).stage == "mixed"


def test_mixed_stage_trains_on_video_and_static_clips(shared_data_dir: Path, tmp_path: Path) -> None:
    trainer, losses = _run(_config(tmp_path, stage="mixed", data_root=shared_data_dir, iters=1, batch=2))
    source = trainer.source()
    assert isinstance(source, MixedClips)
    assert [type(s) for s in source.sources] == [DavisClips, StaticPseudoVideos]
    assert len(losses) == 1 and np.isfinite(losses[0])
    card = json.loads(card_path(tmp_path / "run" / "stcn.pt").read_text())
    assert "half DAVIS" in card["data"] and "half static" in card["data"] and "pennfudan" in card["data"]


def test_static_pseudo_videos(shared_data_dir: Path) -> None:
    source = StaticPseudoVideos(shared_data_dir / "static", (96, 128), frames=3, seed=0)
    for index in range(3):
        clip = source.clip(index, 0)
        assert clip.frames.shape == (3, 96, 128, 3) and clip.labels.shape == (3, 96, 128)
        assert 1 <= clip.n_objects <= 3 and int(clip.labels.max()) == clip.n_objects
        for obj in range(1, clip.n_objects + 1):
            assert (clip.labels[0] == obj).any()


def test_davis_clips_exclude_the_dev_split(shared_data_dir: Path) -> None:
    source = DavisClips(shared_data_dir / "davis2016-train", (96, 128), total_iters=10)
    assert not set(DEV_SEQUENCES) & set(source.names) and len(source.names) == 25
    clip = source.clip(0, 5)
    assert clip.frames.shape == (3, 96, 128, 3) and clip.n_objects == 1 and (clip.labels[0] == 1).any()


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not installed")
def test_torchrun_two_processes(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = ["torchrun", "--standalone", "--nproc_per_node=2", "-m", "vos_core.train", "--arch", "stcn",
           "--stage", "synthetic", "--crop", "64x96", "--batch", "1", "--iters", "2", "--threads", "1",
           "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "stcn.pt").is_file() and (out / "checkpoint.pt").is_file()
    log = (out / "train.log").read_text()
    assert "x 2 ranks" in log and "it 2 loss" in log
    assert "stopped at iteration 2" in proc.stdout


def test_every_checkpoint_has_its_card(tmp_path: Path) -> None:
    """checkpoint.pt is described like the weights: data, steps, time, parameters, its own hash."""
    _run(_config(tmp_path, iters=2))
    path = tmp_path / "run" / "checkpoint.pt"
    card = read_card(path)
    assert card.arch == "stcn" and card.steps == 2 and card.data and card.wall_time_s > 0
    assert card.sha256 == sha256_of(path) and card.params > 0
    assert "resumable training checkpoint at iteration 2" in card.notes
