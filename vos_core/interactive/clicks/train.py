"""Train the click head on cached frozen-encoder features with iterative click simulation.

``python -m vos_core.interactive.clicks.train --cache DIR [--cache DIR2] [--resume] [--max-minutes M]``

Each step: a batch of crops (aligned to stride 16, random flips) from one cache; initial clicks
(random interior positives, sometimes background negatives, and, where the cache marks distractors,
often negatives on them), or a box alone, or a perturbed mask to correct; then 0-3 no-grad rounds
each adding the protocol's next click (:func:`~vos_core.interactive.clicks.simulate.next_click`)
with the prediction fed back as the previous mask; the last round is trained with BCE + Dice. Every
sample is a pure function of ``(seed, step)`` so ``--resume`` continues exactly. Checkpoints (head,
optimiser, step, elapsed time) go to ``weights/clicks.ckpt.pt``; ``--export`` writes
``weights/clicks.pt`` and its card. ``--init`` starts from another checkpoint or shipped weights.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vos_core.data.atomic import atomic_path, atomic_write_bytes
from vos_core.interactive.clicks.cache import FeatureCache
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.simulate import (
    Click,
    distractor_clicks,
    initial_clicks,
    jittered_box,
    next_click,
    perturbed_mask,
)
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.weights import (
    ModelCard,
    card_path,
    head_param_count,
    save_weights,
    sha256_of,
    weights_dir,
)

MAX_CLICKS = 24
#: weight of the auxiliary loss on the coarse (stride-4) logits
COARSE_WEIGHT = 0.4
DATA_DESCRIPTION = (
    "frozen ImageNet Lite0 features of 320x320 and 448x448 views (cache.py): ECSSD (minus the held-out "
    "hash split), PASCAL-S, Weizmann Horse, Penn-Fudan (per pedestrian), DUTS-TR subsets, DAVIS 2016 "
    "train frames (every 3rd, dev sequences excluded); 256x256 crops, flips, iterative click simulation; "
    "then a distractor fine-tune on 320x320 views (cache.py --duts 1500 --davis-every 6 --distractors "
    "0.6): 60% of the views are composites with 1-4 look-alikes pasted beside the object (copies of it, "
    "flipped/scaled, and cut-outs of the same set), Penn-Fudan's other pedestrians marked as "
    "distractors, the Penn-Fudan held-out hash split (3 in 10) and ECSSD's kept out; half the click "
    "starts add negative clicks on distractors"
)


@dataclass(frozen=True)
class TrainConfig:
    """batch: crops per step; crop: crop side (multiple of 16); lr: peak AdamW rate (cosine over
    the time budget); max_rounds: most no-grad click rounds before the trained one;
    distractor_negatives: chance that a click start on a crop with distractors adds negative clicks
    on some of them."""

    batch: int = 16
    crop: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    max_rounds: int = 3
    seed: int = 0
    distractor_negatives: float = 0.5


@dataclass
class Batch:
    """feats: encoder features of the crops; gt: B×1×C×C bool; rgb: B×3×C×C float in [0, 255];
    others: B×C×C bool, the distractors (other instances, pasted look-alikes) in each crop."""

    feats: EncoderFeatures
    gt: torch.Tensor
    rgb: torch.Tensor
    others: np.ndarray


def sample_batch(cache: FeatureCache, cfg: TrainConfig, rng: np.random.Generator) -> Batch:
    """Random crops (offsets multiples of 16, holding part of the object) with random flips."""
    size, c = cache.size, cfg.crop
    cells = (size - c) // 16
    if cache.rgb is None:
        raise ValueError("the feature cache has no rgb.npy (build it with cache.py --rgb-only)")
    s4, s8, s16, gts, rgbs = [], [], [], [], []
    while len(gts) < cfg.batch:
        i = int(rng.integers(len(cache)))
        mask = np.asarray(cache.masks[i])
        for _ in range(4):
            oy, ox = (int(rng.integers(cells + 1)) * 16, int(rng.integers(cells + 1)) * 16)
            crop = mask[oy : oy + c, ox : ox + c]
            if (crop == 1).mean() > 0.003:
                break
        else:
            continue
        flip = bool(rng.random() < 0.5)
        parts = []
        for arr, stride in ((cache.s4, 4), (cache.s8, 8), (cache.s16, 16)):
            a = np.asarray(arr[i, :, oy // stride : (oy + c) // stride, ox // stride : (ox + c) // stride])
            parts.append(a[..., ::-1] if flip else a)
        s4.append(parts[0])
        s8.append(parts[1])
        s16.append(parts[2])
        gts.append(crop[:, ::-1] if flip else crop)
        rgb = np.asarray(cache.rgb[i, oy : oy + c, ox : ox + c])
        rgbs.append((rgb[:, ::-1] if flip else rgb).transpose(2, 0, 1))

    def stack(xs: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(np.stack(xs))).float()

    labels = np.stack(gts)
    feats = EncoderFeatures(stack(s4), stack(s8), stack(s16))
    return Batch(feats, torch.from_numpy(labels == 1).unsqueeze(1), stack(rgbs), labels == 2)


def points_tensor(clicks: list[list[Click]]) -> torch.Tensor:
    """Per-sample click lists -> B×K×3 (y, x, sign), padded with sign 0 to the longest list."""
    k = max([len(c) for c in clicks] + [1])
    out = torch.zeros(len(clicks), k, 3)
    for b, cl in enumerate(clicks):
        for j, click in enumerate(cl):
            out[b, j] = torch.tensor([click.y, click.x, 1.0 if click.positive else -1.0])
    return out


def box_map(box: tuple[int, int, int, int] | None, hw: tuple[int, int]) -> np.ndarray:
    """(y0, x0, y1, x1) -> H×W float32 map, 1 inside the box (all zeros for None)."""
    m = np.zeros(hw, np.float32)
    if box is not None:
        y0, x0, y1, x1 = box
        m[y0:y1, x0:x1] = 1.0
    return m


def loss_fn(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice, both averaged over the batch. logits, gt: B×1×H×W."""
    target = gt.float()
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def simulate_step(head: ClickHead, batch: Batch, cfg: TrainConfig, rng: np.random.Generator) -> torch.Tensor:
    """Start states, no-grad click rounds, and the loss of the final round."""
    gt_np = batch.gt[:, 0].numpy()
    b, hw = gt_np.shape[0], gt_np.shape[1:]
    clicks: list[list[Click]] = []
    prev = np.zeros((b, *hw), np.float32)
    boxes = np.zeros((b, *hw), np.float32)
    for i in range(b):
        r = rng.random()
        if r < 0.15:
            boxes[i] = box_map(jittered_box(gt_np[i], rng), hw)
            clicks.append([])
        elif r < 0.35:
            prev[i] = perturbed_mask(gt_np[i], rng)
            first = next_click(prev[i] > 0.5, gt_np[i])
            clicks.append([first] if first else [])
        else:
            clicks.append(initial_clicks(gt_np[i], rng))
            if batch.others[i].any() and rng.random() < cfg.distractor_negatives:
                clicks[i] += distractor_clicks(batch.others[i], rng)
    box_t = torch.from_numpy(boxes).unsqueeze(1)
    prev_t = torch.from_numpy(prev).unsqueeze(1)
    for _ in range(int(rng.integers(0, cfg.max_rounds + 1))):
        with torch.no_grad():
            prob = torch.sigmoid(head(batch.feats, points_tensor(clicks), prev_t, box_t, batch.rgb).fine)
        pred = (prob[:, 0] > 0.5).numpy()
        for i in range(b):
            nc = next_click(pred[i], gt_np[i])
            if nc is not None and len(clicks[i]) < MAX_CLICKS:
                clicks[i].append(nc)
        prev_t = prob
    out = head(batch.feats, points_tensor(clicks), prev_t, box_t, batch.rgb)
    return loss_fn(out.fine, batch.gt) + COARSE_WEIGHT * loss_fn(out.coarse, batch.gt)


def head_state(path: Path) -> dict[str, torch.Tensor]:
    """The head tensors of a training checkpoint (its ``head``) or of shipped weights (the file)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["head"] if "head" in state else state


def init_from(head: ClickHead, checkpoint: Path) -> list[str]:
    """Copy a checkpoint's (or shipped weights') head tensors into ``head`` (training-time transfer):
    every top-level module the file holds loads with strict keys; only the refiner may be absent (it
    starts fresh). Returns the top-level modules left fresh."""
    state = head_state(checkpoint)
    modules = dict(head.named_children())
    stray = sorted({k.split(".")[0] for k in state} - modules.keys())
    if stray:
        raise ValueError(f"{checkpoint} does not fit the head: unexpected modules {stray}")
    fresh = []
    for name, module in modules.items():
        part = {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")}
        if not part and name == "refine":
            fresh.append(name)
            continue
        try:
            module.load_state_dict(part, strict=True)
        except RuntimeError as error:
            raise ValueError(f"{checkpoint} does not fit the head's {name!r}: {error}") from error
    return fresh


@dataclass
class Anchor:
    """L2-SP: ``weight`` × the summed squared distance of the head's parameters from ``reference``."""

    reference: dict[str, torch.Tensor]
    weight: float

    @classmethod
    def load(cls, head: ClickHead, path: Path, weight: float) -> Anchor:
        state = head_state(path)
        params = dict(head.named_parameters())
        missing = sorted(params.keys() - state.keys())
        if missing:
            raise ValueError(f"{path} does not hold the head's parameters {missing[:5]}")
        return cls({k: state[k].detach().clone() for k in params}, weight)

    def __call__(self, head: ClickHead) -> torch.Tensor:
        total = sum(((p - self.reference[k]) ** 2).sum() for k, p in head.named_parameters())
        return self.weight * total


def _lr(cfg: TrainConfig, elapsed: float, budget: float) -> float:
    frac = min(1.0, elapsed / max(budget, 1.0))
    warm = min(1.0, elapsed / 60.0)
    return cfg.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))


def save_checkpoint(
    path: Path, head: ClickHead, opt: torch.optim.Optimizer, step: int, elapsed: float, budget: float
) -> None:
    """Write the resumable checkpoint and its card."""
    with atomic_path(path) as tmp:
        torch.save(
            {
                "head": head.state_dict(),
                "opt": opt.state_dict(),
                "step": step,
                "elapsed": elapsed,
                "budget": budget,
            },
            tmp,
        )
    write_checkpoint_card(path, head, step, elapsed)


def write_checkpoint_card(path: Path, head: ClickHead, step: int, elapsed: float) -> None:
    """The checkpoint's card ``<name>.json`` beside it (steps, wall time, file hash)."""
    card = ModelCard(
        arch=head.name,
        data=DATA_DESCRIPTION,
        params=head_param_count(head),
        steps=step,
        wall_time_s=round(elapsed, 1),
        notes="resumable training checkpoint (head + optimiser) of this stage; --resume continues it, "
        "--export writes the shipped weights and their card (dev/held-out NoC and latency are there)",
        sha256=sha256_of(path),
    )
    atomic_write_bytes(card_path(path), card.to_json().encode("utf-8"))


def export(
    checkpoint: Path,
    out: Path,
    data: str,
    work_height: int,
    notes: str = "",
    prior: tuple[int, float] = (0, 0.0),
) -> ModelCard:
    """Write the checkpoint's head to ``out`` (e.g. ``weights/clicks.pt``) with its model card;
    ``prior`` (steps, seconds) of earlier stages the run was initialised from (``--init``) are added."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    head = ClickHead()
    head.load_state_dict(state["head"], strict=True)
    card = ModelCard(
        arch=head.name,
        data=data,
        steps=int(state["step"]) + prior[0],
        wall_time_s=round(float(state["elapsed"]) + prior[1], 1),
        process_height=work_height,
        notes=notes,
    )
    return save_weights(head, out, card)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, action="append", default=[])
    p.add_argument("--checkpoint", type=Path, default=weights_dir() / "clicks.ckpt.pt")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init", type=Path, help="start from another checkpoint's head (refiner may be new)")
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument(
        "--max-minutes", type=float, default=60.0, help="total training time (the lr schedule spans it)"
    )
    p.add_argument("--save-minutes", type=float, default=5.0)
    p.add_argument(
        "--freeze-bn",
        action="store_true",
        help="keep the batch-norm statistics of the initial head (a fine-tune on shifted data)",
    )
    p.add_argument(
        "--anchor",
        type=Path,
        help="pull the head toward this file's weights (L2-SP; a fine-tune that keeps what they knew)",
    )
    p.add_argument("--anchor-weight", type=float, default=0.01, help="with --anchor: the pull's weight")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument(
        "--export", type=Path, metavar="FILE", help="only write the checkpoint's head to FILE (+ card)"
    )
    p.add_argument("--work-height", type=int, default=480, help="with --export: the card's working height")
    p.add_argument("--notes", default="", help="with --export: the card's notes (evaluation results)")
    p.add_argument("--prior-steps", type=int, default=0, help="with --export: steps of earlier stages")
    p.add_argument(
        "--prior-seconds", type=float, default=0.0, help="with --export: seconds of earlier stages"
    )
    args = p.parse_args(argv)
    if args.export:
        prior = (args.prior_steps, args.prior_seconds)
        card = export(args.checkpoint, args.export, DATA_DESCRIPTION, args.work_height, args.notes, prior)
        print(f"wrote {args.export}: {card.steps} steps, {card.params} parameters")
        return 0
    if not args.cache:
        p.error("--cache DIR is required to train")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    cfg = TrainConfig(batch=args.batch, crop=args.crop, lr=args.lr)
    caches = [FeatureCache.open(c) for c in args.cache]
    head = ClickHead()
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, elapsed = 0, 0.0
    budget = args.max_minutes * 60
    if args.init and not (args.resume and args.checkpoint.is_file()):
        fresh = init_from(head, args.init)
        print(f"initialised from {args.init}; fresh: {', '.join(fresh) or 'none'}", flush=True)
    if args.resume and args.checkpoint.is_file():
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        head.load_state_dict(state["head"], strict=True)
        opt.load_state_dict(state["opt"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
        print(f"resumed at step {step}, {elapsed / 60:.1f} min", flush=True)
    head.train()
    if args.freeze_bn:
        for module in head.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
    pull = Anchor.load(head, args.anchor, args.anchor_weight) if args.anchor else None
    start, last_save, running = time.time() - elapsed, time.time(), None
    while elapsed < budget:
        rng = np.random.default_rng([cfg.seed, step])
        cache = caches[step % len(caches)]
        loss = simulate_step(head, sample_batch(cache, cfg, rng), cfg, rng)
        if pull is not None:
            loss = loss + pull(head)
        for group in opt.param_groups:
            group["lr"] = _lr(cfg, elapsed, budget)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        elapsed = time.time() - start
        value = loss.item()
        running = value if running is None else 0.98 * running + 0.02 * value
        if step % 50 == 0:
            print(
                f"step {step} loss {running:.4f} lr {opt.param_groups[0]['lr']:.2e} {elapsed / 60:.1f} min",
                flush=True,
            )
        if time.time() - last_save > args.save_minutes * 60:
            save_checkpoint(args.checkpoint, head, opt, step, elapsed, budget)
            last_save = time.time()
    save_checkpoint(args.checkpoint, head, opt, step, elapsed, budget)
    print(f"done: {step} steps, {elapsed / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
