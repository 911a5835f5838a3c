"""Training from a pack: the trainer renders its clips on the device (or in workers), the card says
which pack; torchrun's environment starts a process group; CUDA runs under autocast."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from tests.core.train.pack_sources import make_davis, make_static
from vos_core.data.pack import write_pack
from vos_core.train.cli import config_from_args
from vos_core.train.config import TrainConfig
from vos_core.train.trainer import DistInfo, Trainer, init_distributed

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train-pack")
    write_pack(root / "pack", 20, davis=make_davis(root / "davis"), static=make_static(root / "static"),
               crop=64)
    return root / "pack"


def _config(tmp_path: Path, pack: Path, **kw: object) -> TrainConfig:
    values = dict(arch="stcn", stage="mixed", out=tmp_path / "run", iters=3, batch=2, crop=(64, 64),
                  quiet=True, pack=pack, checkpoint_minutes=60.0)
    values.update(kw)
    return TrainConfig(**values)  # type: ignore[arg-type]


def test_training_from_a_pack_on_the_cpu(tmp_path: Path, pack_dir: Path, one_thread: None) -> None:
    trainer = Trainer(_config(tmp_path, pack_dir), DistInfo())
    try:
        result = trainer.run()
    finally:
        trainer.close()
    assert result.iteration == 3 and all(torch.isfinite(torch.tensor(result.losses)))
    card = (tmp_path / "run" / "stcn.json").read_text()
    assert "training pack pack" in card and "mixed clips" in card


def test_workers_and_device_rendering_give_the_same_batches(tmp_path: Path, pack_dir: Path) -> None:
    on_device = Trainer(_config(tmp_path, pack_dir, workers=0), DistInfo())
    in_workers = Trainer(_config(tmp_path, pack_dir, workers=1), DistInfo())
    a = next(iter(on_device.loader(1, 2)))
    b = next(iter(in_workers.loader(1, 2)))
    assert type(on_device.loader(0, 1)).__name__ == "DeviceBatches"
    assert type(in_workers.loader(0, 1)).__name__ == "DataLoader"
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_pack_options(tmp_path: Path, pack_dir: Path) -> None:
    config = config_from_args(["--arch", "stcn", "--stage", "video", "--pack", str(pack_dir), "--no-amp"])
    assert config.pack == pack_dir and config.amp is False
    assert config_from_args(["--arch", "stcn", "--stage", "video"]).amp is True
    with pytest.raises(ValueError, match="synthetic"):
        _config(tmp_path, pack_dir, stage="synthetic")


def test_torchrun_environment_starts_a_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchrun sets WORLD_SIZE and MASTER_ADDR: even one process joins a (gloo) group."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    try:
        info = init_distributed()
        assert dist.is_initialized() and dist.get_backend() == "gloo"
        assert info.world == 1 and info.rank == 0 and info.device.type == "cpu"
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@cuda
def test_training_from_a_pack_on_cuda(tmp_path: Path, pack_dir: Path) -> None:
    trainer = Trainer(_config(tmp_path, pack_dir, batch=4), DistInfo(device=torch.device("cuda")))
    try:
        batches = trainer.loader(0, 1)
        frames, labels, n = next(iter(batches))
        assert frames.is_cuda and labels.is_cuda
        stats = trainer.step(frames, labels, n)
    finally:
        trainer.close()
    assert torch.isfinite(torch.tensor(stats.loss))
