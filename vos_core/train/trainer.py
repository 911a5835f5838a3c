"""The training loop: seeded, resumable, interruptible, single process or DistributedDataParallel.

Under ``torchrun --nproc_per_node=N`` every process trains on its own samples (gloo on the CPU, NCCL
on CUDA); rank 0 writes the log, the checkpoints and the weights. Clips come from the shared data
folders through data-loader workers, or from a training pack (``--pack``): on CUDA (and on the CPU
without workers) a pack's clips are rendered in batches on the device
(``vos_core.train.pack_clips``); on CUDA the batches go through pinned memory and the forward pass
runs under bf16 autocast (``TrainConfig.amp``). A checkpoint holds the heads,
the optimiser, the iteration and the RNG state; samples are a function of (seed, index) so
``--resume`` continues exactly where the run stopped.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from vos_core.config import ReadoutConfig
from vos_core.data.atomic import atomic_path
from vos_core.errors import VosInputError, WeightsError
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.parts.model import LearnedVosModel
from vos_core.train.batches import Batch, TrainData
from vos_core.train.clip import ClipRunner, ClipStats
from vos_core.train.config import TrainConfig
from vos_core.train.data import ClipSource
from vos_core.weights import (
    ModelCard,
    WarmStart,
    load_weights,
    save_weights,
    sha256_of,
    warm_start,
    write_card,
)

log = logging.getLogger("vos_core.train")

CHECKPOINT = "checkpoint.pt"


def trainable_archs() -> dict[str, Callable[[FrozenEncoder], LearnedVosModel]]:
    """Architectures with trainable heads (the registry's): name -> constructor taking the encoder."""
    from vos_core.models.registry import get_spec, trainable_names

    return {name: get_spec(name).make for name in trainable_names()}  # type: ignore[misc]


def build_heads(arch: str, seed: int | None = None) -> LearnedVosModel:
    """Fresh (untrained) heads of ``arch`` on the ImageNet encoder (torch path), initialised
    from ``seed`` when given (the encoder is loaded first so the seed alone decides the heads)."""
    from vos_core.models.encoders.shared import pretrained_lite0

    archs = trainable_archs()
    if arch not in archs:
        raise VosInputError(f"architecture {arch!r} is not trainable (trainable: {', '.join(sorted(archs))})")
    encoder = FrozenEncoder(pretrained_lite0(), accelerate=False)
    if seed is not None:
        torch.manual_seed(seed)
    return archs[arch](encoder)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Join the process group torchrun describes (it sets WORLD_SIZE and MASTER_ADDR; gloo on the
    CPU, NCCL on CUDA), whatever its size; otherwise a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    launched = "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ
    if launched and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    return DistInfo(rank, world, local_rank, local_world, device)


@dataclass(frozen=True)
class TrainResult:
    iteration: int
    interrupted: bool
    losses: tuple[float, ...]
    weights: Path | None


class Trainer:
    """Owns the model, the optimiser and the loop; ``run()`` trains until done or stopped."""

    def __init__(self, config: TrainConfig, dist_info: DistInfo | None = None) -> None:
        self.config = cfg = config
        self.dist = dist_info or init_distributed()
        threads = cfg.threads or max(1, (os.cpu_count() or 1) // max(1, self.dist.local_world))
        torch.set_num_threads(threads)
        self.model = build_heads(cfg.arch, seed=cfg.seed).to(self.dist.device)
        self.init_card: ModelCard | None = None
        self.warm: WarmStart | None = None
        if cfg.init is not None and cfg.warm_start is not None:
            raise VosInputError("--init and --warm-start exclude each other")
        if cfg.init is not None:
            self.init_card = load_weights(self.model, cfg.init)
        if cfg.warm_start is not None:
            self.warm = warm_start(self.model, cfg.warm_start)
        self.model.train()
        self.runner = ClipRunner(self.model, ReadoutConfig(top_k=cfg.top_k))
        self.net: nn.Module = self.runner
        if self.dist.world > 1:
            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.runner, device_ids=ids, find_unused_parameters=True)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.iteration = 0
        self.elapsed_before = 0.0
        self._stop_requested = False
        self.out = Path(cfg.out)
        self.data = TrainData(cfg, self.dist.rank, self.dist.world, self.dist.device)

    # ----------------------------------------------------------------- data
    def source(self) -> ClipSource:
        """Per-sample clips (:meth:`TrainData.source`)."""
        return self.data.source()

    def loader(self, start: int, stop: int) -> Iterable[Batch]:
        """This rank's batches for iterations ``start..stop-1`` (:meth:`TrainData.batches`)."""
        return self.data.batches(start, stop)

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_state(self) -> dict[str, object]:
        cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.config).items()}
        return {
            "arch": self.config.arch,
            "iteration": self.iteration,
            "elapsed": self.elapsed_before + self._run_time(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "config": cfg,
        }

    def save_checkpoint(self) -> Path | None:
        if not self.dist.main:
            return None
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / CHECKPOINT
        with atomic_path(path) as tmp:
            torch.save(self.checkpoint_state(), tmp)
        card = self._card()
        card.notes = "; ".join(
            [*filter(None, [card.notes]), f"resumable training checkpoint at iteration {self.iteration} "
             "(heads, optimiser, RNG); --resume continues it, the run's end writes the weights"]
        )
        write_card(path, card, self.model, sha256_of(path))
        log.info("checkpoint at iteration %d -> %s", self.iteration, path)
        return path

    def load_checkpoint(self, path: Path | None = None) -> None:
        path = path or self.out / CHECKPOINT
        if not path.is_file():
            raise VosInputError(f"cannot resume: no checkpoint at {path}")
        try:
            state = torch.load(path, map_location=self.dist.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - unreadable checkpoint
            raise WeightsError(f"checkpoint {path} cannot be read: {exc}") from exc
        if state.get("arch") != self.config.arch:
            raise WeightsError(f"checkpoint {path} is for {state.get('arch')!r}, not {self.config.arch!r}")
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"].cpu())
        self.iteration = int(state["iteration"])
        self.elapsed_before = float(state["elapsed"])
        log.info("resumed %s at iteration %d", path, self.iteration)

    # ----------------------------------------------------------------- loop
    def _run_time(self) -> float:
        return time.monotonic() - self._t0 if hasattr(self, "_t0") else 0.0

    def _on_sigint(self, _sig: int, _frame: FrameType | None) -> None:
        self._stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C aborts

    def _agree(self, flag: bool) -> bool:
        """All ranks stop together (any rank asking is enough)."""
        if self.dist.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.dist.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def step(self, frames: torch.Tensor, labels: torch.Tensor, n_objects: torch.Tensor) -> ClipStats:
        """One optimiser step on a batch; advances ``iteration``."""
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr_at(self.iteration)
        dev = self.dist.device
        amp = cfg.amp and dev.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext():
            loss, stats = self.net(frames.to(dev, non_blocking=True), labels.to(dev, non_blocking=True),
                                   n_objects.cpu(), top_p=cfg.top_p_at(self.iteration))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.iteration += 1
        return stats

    def run(self) -> TrainResult:
        cfg = self.config
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            self._setup_log()
        if cfg.resume:
            self.load_checkpoint()
        stop_at = min(cfg.iters, cfg.stop_at) if cfg.stop_at is not None else cfg.iters
        self._t0 = time.monotonic()
        last_ckpt = self._t0
        losses: list[float] = []
        interrupted = False
        previous = signal.getsignal(signal.SIGINT)
        in_main_thread = True
        try:
            signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread: no Ctrl-C handling
            in_main_thread = False
        bar = tqdm(total=cfg.iters, initial=self.iteration, disable=cfg.quiet or not self.dist.main,
                   desc=f"{cfg.arch}/{cfg.stage}", unit="it", dynamic_ncols=True)
        if self.warm is not None:
            log.info("warm start from %s (%s): %d tensors copied, %d fresh (%s)", cfg.warm_start,
                     self.warm.card.arch, len(self.warm.loaded), len(self.warm.fresh),
                     self.warm.fresh_modules)
        log.info("training %s (%s) from iteration %d to %d, batch %d x %d ranks, crop %s",
                 cfg.arch, cfg.stage, self.iteration, stop_at, cfg.batch, self.dist.world, cfg.crop)
        try:
            if self.iteration < stop_at:
                t_log = time.monotonic()
                window: list[ClipStats] = []
                for frames, labels, n_obj in self.loader(self.iteration, stop_at):
                    stats = self.step(frames, labels, n_obj)
                    losses.append(stats.loss)
                    window.append(stats)
                    bar.update(1)
                    bar.set_postfix(loss=f"{stats.loss:.4f}", iou=f"{stats.iou:.3f}")
                    if self.dist.main and (self.iteration % cfg.log_every == 0 or self.iteration == stop_at):
                        now = time.monotonic()
                        rate = len(window) / max(now - t_log, 1e-9)

                        def mean(field: str, stats_: list[ClipStats] = window) -> float:
                            return sum(getattr(w, field) for w in stats_) / len(stats_)

                        log.info("it %d loss %.4f ce %.4f dice %.4f iou %.3f (mean of %d) lr %.2e %.2f it/s",
                                 self.iteration, mean("loss"), mean("ce"), mean("dice"), mean("iou"),
                                 len(window), cfg.lr_at(self.iteration - 1), rate)
                        t_log, window = now, []
                    over_time = cfg.max_minutes is not None and self._run_time() > cfg.max_minutes * 60
                    if self._agree(self._stop_requested or over_time):
                        interrupted = self._stop_requested
                        log.info("stopping at iteration %d (%s)", self.iteration,
                                 "interrupted" if interrupted else "time limit")
                        break
                    if time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60:
                        self.save_checkpoint()
                        last_ckpt = time.monotonic()
        finally:
            bar.close()
            if in_main_thread:
                signal.signal(signal.SIGINT, previous)
        self.save_checkpoint()
        weights = self.save_final()
        return TrainResult(self.iteration, interrupted, tuple(losses), weights)

    # ----------------------------------------------------------------- results
    def save_final(self) -> Path | None:
        """Write ``<arch>.pt`` + ``<arch>.json`` (rank 0), scoring the dev split if asked."""
        if not self.dist.main:
            return None
        cfg = self.config
        card = self._card()
        if cfg.eval_dev:
            from vos_core.train.dev import evaluate_dev

            self.model.eval()
            card.dev_jf, card.fps_480p = evaluate_dev(self.model, cfg.data_root / "davis2016-train")
            self.model.train()
            log.info("dev J&F %s, %.2f fps", card.dev_jf, card.fps_480p or math.nan)
        path = self.out / f"{cfg.arch}.pt"
        save_weights(self.model, path, card)
        log.info("weights -> %s", path)
        return path

    def _card(self) -> ModelCard:
        """The card of the model as it stands: data, steps and time of every stage, notes."""
        cfg = self.config
        steps, seconds = self.iteration, self.elapsed_before + self._run_time()
        notes = [cfg.notes] if cfg.notes else []
        if self.init_card is not None:  # steps and time count every stage of this architecture
            steps += self.init_card.steps
            seconds += self.init_card.wall_time_s
            if self.init_card.notes:
                notes.insert(0, self.init_card.notes)
        if self._grown_from is not None:
            steps += self._grown_from.steps
            seconds += self._grown_from.wall_time_s
        if self.warm is not None:
            src = self.warm.card
            notes.append(
                f"shared parts warm-started from {src.arch} ({len(self.warm.loaded)} tensors; {src.arch}: "
                f"{src.steps} steps, {src.wall_time_s / 60:.0f} min on {src.data}); new modules: "
                f"{self.warm.fresh_modules}"
            )
        tuned = self.model.tuned_blocks
        if tuned:
            notes.append(f"the last {tuned} blocks of the encoder's stride-16 stage are fine-tuned "
                         "(batch norm frozen) and saved with the heads")
        return ModelCard(arch=cfg.arch, data=self._data_description(), steps=steps,
                         wall_time_s=round(seconds, 1), notes="; ".join(notes), encoder_frozen=not tuned)

    @property
    def _grown_from(self) -> ModelCard | None:
        """The card of a warm start from this same architecture (the model grown by new parts, e.g.
        fine-tuned encoder blocks): its steps, time and data count as earlier stages of this run."""
        if self.warm is not None and self.warm.card.arch == self.config.arch:
            return self.warm.card
        return None

    def _data_description(self) -> str:
        cfg = self.config
        h, w = cfg.crop
        what = self.data.description()
        text = f"{what}, {cfg.frames}-frame clips {h}x{w}, batch {cfg.batch}x{self.dist.world}"
        earlier = self.init_card or self._grown_from
        if earlier is not None:
            text = f"{earlier.data}; then {text}"
        return text

    def _setup_log(self) -> None:
        handler = logging.FileHandler(self.out / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self._log_handler = handler

    def close(self) -> None:
        handler = getattr(self, "_log_handler", None)
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
