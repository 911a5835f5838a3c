"""Where a training run's clips come from, and how they reach the device.

Without a pack: the clip makers of ``vos_core.train.data`` read the shared data folders, run by
data-loader workers (``TrainConfig.workers``), batches pinned on CUDA. With a pack
(``TrainConfig.pack``): on CUDA, and on the CPU without workers, clips are rendered in batches on
the device (``vos_core.train.pack_clips``); on the CPU with workers, one per sample in the workers.
Either way sample ``i`` of iteration ``n`` is the same clip (``IterationSampler`` order).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader

from vos_core.data.pack import DataPack
from vos_core.train.config import TrainConfig
from vos_core.train.data import (
    DEV_SEQUENCES,
    ClipDataset,
    ClipSource,
    DavisClips,
    IterationSampler,
    MixedClips,
    StaticPseudoVideos,
    SyntheticClips,
    collate,
)
from vos_core.train.pack_clips import DeviceBatches, PackClipMaker, PackClips

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # frames B×T×3×H×W, labels B×T×H×W, objects B


def _ignore_sigint(_worker: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop


@dataclass
class TrainData:
    """The clips of one rank (``rank`` of ``world``) training on ``device``."""

    config: TrainConfig
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _pack: DataPack | None = None

    @property
    def pack(self) -> DataPack:
        if self.config.pack is None:
            raise ValueError("no training pack: the clips come from the data folders")
        if self._pack is None:
            self._pack = DataPack(self.config.pack)
        return self._pack

    def clip_maker(self, device: torch.device | str) -> PackClipMaker:
        """The pack's clips, rendered on ``device``."""
        cfg = self.config
        return PackClipMaker(self.pack, cfg.stage, cfg.crop, cfg.frames, cfg.seed,  # type: ignore[arg-type]
                             device, total_iters=cfg.iters, skip_range=cfg.skip_range,
                             max_objects=cfg.max_objects)

    def source(self) -> ClipSource:
        """Per-sample clips (what data-loader workers run)."""
        cfg = self.config
        if cfg.pack is not None:
            return PackClips(self.clip_maker("cpu"))
        if cfg.stage == "synthetic":
            return SyntheticClips(cfg.crop, cfg.frames, cfg.seed, max_objects=min(cfg.max_objects, 2))
        sources: list[ClipSource] = []
        if cfg.stage in ("video", "mixed"):
            sources.append(DavisClips(cfg.data_root / "davis2016-train", cfg.crop, cfg.frames, cfg.seed,
                                      total_iters=cfg.iters, skip_range=cfg.skip_range))
        if cfg.stage in ("static", "mixed"):
            sources.append(StaticPseudoVideos(cfg.data_root / "static", cfg.crop, cfg.frames, cfg.seed,
                                              cfg.max_objects, cfg.static_sets))
        return MixedClips(sources) if len(sources) > 1 else sources[0]

    def batches(self, start: int, stop: int) -> Iterable[Batch]:
        """This rank's batches for iterations ``start..stop-1``."""
        cfg = self.config
        if cfg.pack is not None and (self.device.type == "cuda" or cfg.workers == 0):
            return DeviceBatches(self.clip_maker(self.device), start, stop, cfg.batch, self.rank, self.world)
        dataset = ClipDataset(self.source(), cfg.batch * self.world)
        sampler = IterationSampler(start, stop, cfg.batch, self.rank, self.world)
        return DataLoader(
            dataset, batch_size=cfg.batch, sampler=sampler, num_workers=cfg.workers, collate_fn=collate,
            worker_init_fn=_ignore_sigint if cfg.workers else None, pin_memory=self.device.type == "cuda",
        )

    def description(self) -> str:
        """What the clips are, for the model card."""
        cfg = self.config
        if cfg.pack is not None:
            return f"{cfg.stage} clips from the training {self.pack.describe()}"
        davis = f"DAVIS 2016 train without dev ({', '.join(DEV_SEQUENCES)})"
        static = f"static pseudo-videos ({', '.join(cfg.static_sets)})"
        return {"static": static, "video": davis, "mixed": f"half {davis}, half {static}"}.get(
            cfg.stage, "synthetic squares")
