"""The per-frame pipeline of an inference session: its state (model, memory bank, objects,
references, adaptation) and the work on one frame (read, encode, read memory, decode, aggregate the
objects, estimate the quality, memorise). :class:`~vos_core.inference.session.InferenceSession`
adds the public API (references, runs, memory operations) on top.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

import numpy as np
import torch

from vos_core.adapt import Adapter
from vos_core.config import SessionConfig
from vos_core.data.masks import check_label_map
from vos_core.data.source_base import resize_frame
from vos_core.devices import pick_device
from vos_core.errors import VosInputError
from vos_core.inference.frames import FrameReader, Prepared, processing_size
from vos_core.inference.objects import (
    ObjectRegistry,
    aggregate,
    confidence,
    labels_to_probs,
    probs_to_labels,
    resize_labels,
    upsample_to,
)
from vos_core.inference.predictions import PredictionLog
from vos_core.inference.references import References
from vos_core.inference.results import FrameResult, Timings
from vos_core.memory.bank import MemoryBank, MemoryStats
from vos_core.memory.entries import EntryKind, MemoryFeatures
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.registry import build_model
from vos_core.quality.head import QualityEstimator


class FramePipeline:
    """One video's engine state and the processing of one frame (the base of ``InferenceSession``)."""

    def __init__(
        self,
        frames: FrameReader | None = None,
        config: SessionConfig | None = None,
        model: VosModel | None = None,
    ) -> None:
        self.config = config or SessionConfig()
        self.frames = frames
        self.device = pick_device(self.config.device)
        self.model = (model or build_model(self.config)).to(self.device).eval()
        #: frames taller than this are processed scaled down (the config's, else the model's)
        self.process_height = self.config.process_height or self.model.process_height
        self.bank = MemoryBank(self.config.memory)
        self.objects = ObjectRegistry()
        self.quality = QualityEstimator.shipped()  # per-object mask quality (vos_core.quality)
        self.refs = References(self.bank)
        #: learns from the references when a run starts (vos_core.adapt); ``model`` is then its copy
        self.adapter = Adapter(self.model, self.config.adapt, self.config.readout, self.device)
        #: the references: frame -> H×W labels (the same dict as ``refs.masks``)
        self.annotations: dict[int, np.ndarray] = self.refs.masks
        #: the latest prediction of every frame, compressed (what a correction compares and fuses with)
        self.predictions = PredictionLog()
        self._last_index: int | None = None
        self._frame_hw: tuple[int, int] | None = None

    def memory_stats(self) -> MemoryStats:
        """A snapshot of the memory (entries, recent frames, bytes) for display."""
        return replace(self.bank.stats(), pinned_frames=tuple(self.refs.pinned_frames()))

    # ------------------------------------------------------------------ one frame
    def _encode_value(self, index: int, labels: np.ndarray) -> MemoryFeatures:
        """Frame ``index`` with ``labels`` (H×W) as its hard values -> its memory features."""
        feats = self._prepare(index, None).features
        value = labels_to_probs(resize_labels(labels, feats.image_hw), self.objects.ids)
        with torch.inference_mode(), self._precision():
            return self.model.encode_memory(feats, value.to(self.device))

    def _check_labels(self, labels: np.ndarray) -> np.ndarray:
        return check_label_map(labels, self._frame_hw)

    def _read(self, index: int, frame: np.ndarray | None) -> np.ndarray:
        if frame is None:
            if self.frames is None:
                raise VosInputError(f"no frame given for index {index} and no frame source")
            frame = self.frames.read(index)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise VosInputError(f"frame {index} must be H×W×3 RGB, got shape {frame.shape}")
        if self._frame_hw is None:
            self._frame_hw = (int(frame.shape[0]), int(frame.shape[1]))
        elif frame.shape[:2] != self._frame_hw:
            raise VosInputError(
                f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, the video is "
                f"{self._frame_hw[1]}x{self._frame_hw[0]}"
            )
        return frame

    def _processing_hw(self, rgb: np.ndarray) -> tuple[int, int]:
        return processing_size(
            self._frame_hw or rgb.shape[:2], self.process_height, self.model.min_process_height
        )

    def _encode(self, rgb: np.ndarray) -> FrameFeatures:
        rgb = resize_frame(rgb, self._processing_hw(rgb))
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        with torch.inference_mode(), self._precision():
            return self.model.encode_frame(t.to(self.device).float())

    def _precision(self) -> AbstractContextManager[object]:
        """bf16 autocast on CUDA when ``SessionConfig.autocast``, else nothing (thread-local: used
        around every model call, the prefetch thread's included)."""
        if self.config.autocast and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _register_objects(self, labels: np.ndarray) -> None:
        new = [int(v) for v in np.unique(labels) if v != 0 and int(v) not in self.objects]
        for v in new:
            self.objects.add(v)
        if new:
            self.bank.pad_objects(len(self.objects))

    def _prepare(self, index: int, frame: np.ndarray | None) -> Prepared:
        """Read (unless given) and encode one frame; safe to run on the prefetch thread."""
        t0 = time.perf_counter()
        rgb = self._read(index, frame)
        t1 = time.perf_counter()
        feats = self._encode(rgb)
        mirrored = self._encode(rgb[:, ::-1]) if self.config.flip else None
        t2 = time.perf_counter()
        return Prepared(feats, (t1 - t0) * 1000, (t2 - t1) * 1000, mirrored)

    def _process(
        self,
        index: int,
        frame: np.ndarray | None,
        given: np.ndarray | None,
        permanent: bool = True,
        prepared: Prepared | None = None,
    ) -> FrameResult:
        """One frame: read memory, decode, aggregate the objects, memorise (given masks skip the
        first three)."""
        prepared = prepared or self._prepare(index, frame)
        feats = prepared.features
        if given is not None:
            given = self._check_labels(given)
            self._register_objects(given)
        ids = self.objects.ids
        t0 = time.perf_counter()
        readout_ms = 0.0
        agg = None
        with torch.inference_mode(), self._precision():
            if given is not None:
                probs = labels_to_probs(resize_labels(given, feats.image_hw), ids).to(self.device)
                labels = given
                quality = self.quality.given(index, feats.key, probs, ids)
            else:
                probs, readout_ms = self._read_and_decode(feats, ids, prepared.mirrored)
                agg = aggregate(probs, self.model.exclusive)  # background + objects
                assert self._frame_hw is not None
                labels = probs_to_labels(upsample_to(agg, self._frame_hw), ids)
                share = float(self.bank.recent_contribution)
                quality = self.quality.predicted(index, feats.key, agg, ids, share)
            t1 = time.perf_counter()
            added = self._memorise(index, feats, probs, labels, given is not None, permanent)
        if given is not None and permanent:
            self.refs.written(index)
        self._last_index = index
        t2 = time.perf_counter()
        return FrameResult(
            index=index,
            labels=labels,
            object_ids=ids,
            probs=probs.to(torch.float16).cpu().numpy(),
            confidence=1.0 if agg is None else confidence(agg),
            given=given is not None,
            memory_added=added,
            memory=self.memory_stats(),
            timings=Timings(
                read_ms=prepared.read_ms,
                encode_ms=prepared.encode_ms,
                readout_ms=readout_ms,
                decode_ms=(t1 - t0) * 1000 - readout_ms,
                memory_ms=(t2 - t1) * 1000,
            ),
            quality=quality.frame,
            object_quality=quality.objects,
        )

    def _read_and_decode(
        self, feats: FrameFeatures, ids: tuple[int, ...], mirrored: FrameFeatures | None = None
    ) -> tuple[torch.Tensor, float]:
        """Read the memory for this frame and decode -> (O×H×W object probabilities at the
        processing resolution, readout milliseconds). Zeros when there is nothing to read.
        ``mirrored`` (flip test-time augmentation): the mirrored frame is read too (against the
        same bank and the mirrored recent frames) and decoded, and its probabilities, mirrored
        back, are averaged in; usage statistics count the plain reading only."""
        if not ids or not (len(self.bank) or self.bank.recent):
            return torch.zeros((len(ids), *feats.image_hw), device=self.device), 0.0
        t0 = time.perf_counter()
        view = self.bank.view()
        recent = [r.features for r in self.bank.recent]
        readout = self.model.read_memory(feats, view, recent, self.config.readout)
        readout_ms = (time.perf_counter() - t0) * 1000
        probs = self.adapter.refine(feats, self.model.decode(feats, readout))
        if mirrored is not None:
            t0 = time.perf_counter()
            other = self.model.read_memory(
                mirrored, view, [r.mirrored() for r in recent], self.config.readout
            )
            readout_ms += (time.perf_counter() - t0) * 1000
            flipped = self.adapter.refine(mirrored, self.model.decode(mirrored, other))
            probs = (probs + flipped.flip(-1)) / 2
        if view is not None and readout.pixel_weight is not None:
            self.bank.record_usage(view, readout.pixel_weight, readout.n_queries)
        self.bank.recent_contribution = readout.recent_share
        return probs, readout_ms

    def _memorise(
        self,
        index: int,
        feats: FrameFeatures,
        probs: torch.Tensor,
        labels: np.ndarray,
        given: bool,
        permanent: bool,
    ) -> EntryKind | None:
        """Write the frame to memory as the bank's write policy says -> the kind of entry it made.
        The value encoder runs only for frames memory keeps."""
        if not self.objects.ids:
            return None
        contiguous = self._last_index is not None and abs(index - self._last_index) == 1
        if not contiguous:
            self.bank.clear_recent()
        write = self.bank.plan(index, given, permanent)
        if write is None:
            return None
        if write.soft:
            value = probs
        else:
            value = labels_to_probs(resize_labels(labels, feats.image_hw), self.objects.ids).to(self.device)
        return self.bank.write(index, self.model.encode_memory(feats, value), write)
