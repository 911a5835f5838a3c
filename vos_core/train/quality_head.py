"""Train the quality head on collected features (``vos_core.train.quality_collect``) and ship it.

    python -m vos_core.train.quality_head --data DIR [--out weights/quality.pt] [--steps 500]
    python -m vos_core.train.quality_head --record-dev EVAL_OUT [--out weights/quality.pt]

The head regresses the true IoU of each predicted object mask from its features (mean squared
error, AdamW with a cosine schedule, full batch). 500 steps by default: longer fits learn the 19
training sequences' peculiarities (validation Spearman 0.876 after 300 steps, 0.851 after 3000,
on 11 of the 14 variants). Sequences in :data:`VAL_SEQUENCES` (training sequences of DAVIS, not the
dev split) are held out: the card records the Spearman correlation there, over every variant and
over the default model's rows alone. ``--record-dev`` reads the ``<seq>/frames.csv`` files that
``vos_core.evaluate`` wrote on the dev split and records their Spearman correlations in the card
(the dev split is never used for training or selection).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vos_core.quality.features import N_FEATURES
from vos_core.quality.head import QualityCard, QualityHead, read_card, save_head
from vos_core.quality.rank import spearman
from vos_core.train.quality_collect import DEV_SEQUENCES
from vos_core.weights import weights_dir

#: training sequences held out for validation (never the dev split)
VAL_SEQUENCES = ("breakdance-flare", "elephant", "horsejump-low", "motorbike", "scooter-gray", "tennis")
DEFAULT_VARIANT = "stcn"


@dataclass(frozen=True)
class Rows:
    """x: N×F features, j: N true IoU, seq: N names, variant: N variant names."""

    x: np.ndarray
    j: np.ndarray
    seq: np.ndarray
    variant: np.ndarray

    def where(self, keep: np.ndarray) -> Rows:
        return Rows(self.x[keep], self.j[keep], self.seq[keep], self.variant[keep])


def load_rows(folder: Path) -> Rows:
    """Every ``<variant>.npz`` in ``folder``, concatenated."""
    parts = []
    for path in sorted(folder.glob("*.npz")):
        data = np.load(path)
        if data["x"].shape[1] != N_FEATURES:
            raise ValueError(f"{path} has {data['x'].shape[1]} features, the engine computes {N_FEATURES}")
        parts.append((data["x"], data["j"], data["seq"], np.full(len(data["j"]), path.stem)))
    if not parts:
        raise ValueError(f"no .npz files in {folder}")
    x, j, seq, variant = (np.concatenate(p) for p in zip(*parts, strict=True))
    if set(seq.tolist()) & set(DEV_SEQUENCES):
        raise ValueError("the data holds dev sequences; the quality head never trains on them")
    return Rows(x.astype(np.float32), j.astype(np.float32), seq, variant)


def fit(rows: Rows, steps: int, hidden: int = 32, lr: float = 3e-3, seed: int = 0) -> QualityHead:
    """Full-batch Adam on the squared error of the predicted IoU."""
    torch.manual_seed(seed)
    head = QualityHead(N_FEATURES, hidden)
    x = torch.from_numpy(rows.x)
    j = torch.from_numpy(rows.j)
    head.mean.copy_(x.mean(dim=0))
    head.std.copy_(x.std(dim=0).clamp(min=1e-3))
    optimiser = torch.optim.AdamW(head.net.parameters(), lr=lr, weight_decay=1e-3)
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
        loss = torch.mean((head(x) - j) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return head.eval()


def predict(head: QualityHead, rows: Rows) -> np.ndarray:
    with torch.inference_mode():
        return head(torch.from_numpy(rows.x)).numpy()


def validation(head: QualityHead, rows: Rows) -> dict[str, float]:
    """Spearman with true IoU on the held-out rows: all variants, the default model, per variant."""
    pred = predict(head, rows)
    out = {"all": spearman(pred, rows.j)}
    for name in sorted(set(rows.variant.tolist())):
        keep = rows.variant == name
        out[name] = spearman(pred[keep], rows.j[keep])
    return out


def dev_spearman(eval_out: Path) -> dict[str, float]:
    """Spearman of predicted quality with true J from ``<eval_out>/<seq>/frames.csv`` (per frame:
    the frame's quality and the mean J over its objects): per sequence and over all frames."""
    preds: dict[str, list[float]] = {}
    truth: dict[str, list[float]] = {}
    for path in sorted(eval_out.glob("*/frames.csv")):
        by_frame: dict[int, tuple[float, list[float]]] = {}
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                frame = int(row["frame"])
                q, js = by_frame.setdefault(frame, (float(row["frame_quality"]), []))
                js.append(float(row["j"]))
        seq = path.parent.name
        preds[seq] = [q for q, _ in by_frame.values()]
        truth[seq] = [float(np.mean(js)) for _, js in by_frame.values()]
    out = {seq: round(spearman(np.array(preds[seq]), np.array(truth[seq])), 4) for seq in preds}
    all_p = np.concatenate([preds[s] for s in preds])
    all_t = np.concatenate([truth[s] for s in truth])
    out["all"] = round(spearman(all_p, all_t), 4)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vos_core.train.quality_head", description=__doc__)
    parser.add_argument("--data", help="folder of collected .npz files")
    parser.add_argument("--out", default=str(weights_dir() / "quality.pt"))
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--record-dev", metavar="EVAL_OUT", help="record dev Spearman in the card")
    parser.add_argument("--note", default="", help="text appended to the card's notes (e.g. collection time)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    if args.record_dev:
        card = read_card(out)
        card.dev_spearman = dev_spearman(Path(args.record_dev))
        out.with_suffix(".json").write_text(card.to_json(), encoding="utf-8")
        print(f"dev spearman {card.dev_spearman}")
        return 0
    if not args.data:
        parser.error("--data is required unless --record-dev is given")
    rows = load_rows(Path(args.data))
    is_val = np.isin(rows.seq, VAL_SEQUENCES)
    t0 = time.perf_counter()
    head = fit(rows.where(~is_val), args.steps, args.hidden)
    wall = time.perf_counter() - t0
    val = validation(head, rows.where(is_val))
    print("validation spearman " + ", ".join(f"{k} {v:.3f}" for k, v in val.items()))
    final = fit(rows, args.steps, args.hidden)  # the shipped head sees the held-out sequences too
    variants = sorted(set(rows.variant.tolist()))
    card = QualityCard(
        data=(
            f"DAVIS 2016 train sequences except the dev split ({len(set(rows.seq.tolist()))} sequences), "
            f"{len(rows.j)} predicted object masks from {len(variants)} runs of diverse quality: "
            f"{', '.join(variants)} (vos_core.train.quality_collect); "
            f"validation on {', '.join(VAL_SEQUENCES)}"
        ),
        steps=args.steps,
        wall_time_s=round(wall, 1),
        val_spearman=round(val["all"], 4),
        hidden=args.hidden,
        notes=(
            "validation Spearman (head trained without the validation sequences): "
            + ", ".join(f"{k} {v:.3f}" for k, v in val.items())
            + f"; the shipped head was then trained on all {len(rows.j)} rows with the same settings"
            + (f"; {args.note}" if args.note else "")
        ),
    )
    save_head(final, out, card)
    print(f"wrote {out} ({len(rows.j)} rows, {wall:.0f} s per fit)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
