"""Scoring a model on the DAVIS 2016 dev split (model selection; never trained on)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from vos_core.config import AdaptConfig, SessionConfig
from vos_core.data.davis import DEV_SEQUENCES, DavisDataset
from vos_core.evaluate import first_mask_run
from vos_core.metrics import mean_jf, score_sequence
from vos_core.models.base import VosModel
from vos_core.models.encoders.shared import frozen_encoder
from vos_core.models.parts.backbone import Backbone
from vos_core.threads import ThreadBudget


def evaluate_dev(
    model: VosModel,
    davis_root: Path,
    sequences: Sequence[str] = DEV_SEQUENCES,
    process_height: int | None = None,
    adapt: bool = False,
    adapt_seconds: list[float] | None = None,
) -> tuple[dict[str, float], float]:
    """Propagate each dev sequence from its first mask -> ({sequence: J&F, "mean": J&F}, fps).

    process_height: None = the model's own (``VosModel.process_height``).
    adapt: learn from the first mask before propagating (``SessionConfig.adapt``); off by default,
    so that the cards' dev J&F stay the models' own (adaptation is measured apart).
    adapt_seconds: receives the seconds of each sequence's adaptation (not counted in the fps).

    The frozen encoder runs as in the application (ONNX Runtime on the CPU when available)."""
    dataset = DavisDataset(davis_root)
    threads = torch.get_num_threads()
    config = SessionConfig(
        arch=model.name, process_height=process_height, threads=threads, adapt=AdaptConfig(enabled=adapt)
    )
    backbone = getattr(model, "backbone", None)
    training_encoder = backbone.encoder if isinstance(backbone, Backbone) else None
    scores = []
    frames_done, seconds = 0, 0.0
    try:
        ThreadBudget.of(threads).apply()
        if isinstance(backbone, Backbone) and training_encoder is not None:
            # run as the application runs it; a model with fine-tuned blocks keeps its own network
            own = training_encoder.net if backbone.grad_from is not None else None
            backbone.encoder = frozen_encoder(config, own)
        for seq in sequences:
            gts = list(dataset.masks(seq))
            with dataset.frames(seq) as frames:
                preds = []
                for index, labels, elapsed in first_mask_run(
                    frames, gts[0], config, model, adapt_seconds=adapt_seconds
                ):
                    preds.append(labels)
                    seconds += elapsed if index else 0.0
                frames_done += len(frames) - 1
            scores.append(score_sequence(preds, gts, name=seq))
    finally:
        torch.set_num_threads(threads)  # the caller's own count again
        if isinstance(backbone, Backbone) and training_encoder is not None:
            backbone.encoder = training_encoder
    result = {s.name: round(s.jf, 4) for s in scores}
    result["mean"] = round(mean_jf(scores), 4)
    return result, round(frames_done / max(seconds, 1e-9), 2)
