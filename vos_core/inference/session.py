"""The inference session: one per video, owns the memory bank and the object registry.

Typical use::

    session = InferenceSession(frames, SessionConfig())
    session.annotate(0, first_mask)              # given mask -> permanent memory
    for result in session.propagate(0, len(frames) - 1):
        save(result.index, result.labels)

``propagate`` is a generator: stop iterating (or pass ``should_stop``) to cancel between frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch

from vos_core.config import SessionConfig
from vos_core.data.masks import check_label_map
from vos_core.data.source_base import resize_frame
from vos_core.devices import pick_device
from vos_core.errors import VosInputError
from vos_core.inference.objects import (
    ObjectRegistry,
    aggregate,
    confidence,
    labels_to_probs,
    probs_to_labels,
    resize_labels,
    upsample_to,
)
from vos_core.inference.results import FrameResult, Timings
from vos_core.memory.bank import MemoryBank, MemoryStats
from vos_core.memory.entries import EntryKind
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.encoders.shared import set_encoder_threads
from vos_core.models.registry import build_model
from vos_core.quality.head import QualityEstimator
from vos_core.threads import ThreadBudget

Direction = Literal["forward", "backward"]


class FrameReader(Protocol):
    """What the session needs of a frame source: RGB uint8 H×W×3 frames by index."""

    def __len__(self) -> int: ...

    def read(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class _Prepared:
    """A frame read and encoded ahead of its readout (times in milliseconds)."""

    features: FrameFeatures
    read_ms: float
    encode_ms: float


def processing_size(hw: tuple[int, int], max_height: int, min_height: int = 0) -> tuple[int, int]:
    """Original (H, W) -> processing (H', W'): downscaled so that H' <= max_height, upscaled so that
    H' >= min(min_height, max_height); the aspect ratio is kept."""
    h, w = hw
    target = min(max(h, min_height), max_height)
    if target == h:
        return h, w
    s = target / h
    return target, max(32, int(round(w * s)))


class InferenceSession:
    """Propagates object masks through one video with a memory-based model."""

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
        self.annotations: dict[int, np.ndarray] = {}
        self._last_index: int | None = None
        self._frame_hw: tuple[int, int] | None = None

    # ------------------------------------------------------------------ public API
    @property
    def object_ids(self) -> tuple[int, ...]:
        return self.objects.ids

    def annotate(self, index: int, labels: np.ndarray, frame: np.ndarray | None = None) -> FrameResult:
        """Give the full mask of frame ``index`` (H×W labels, 0 = background). It becomes a permanent
        memory entry (replacing a predicted entry of that frame) and is used whenever propagation
        passes this frame. New label values become new objects."""
        labels = self._check_labels(labels)
        self.annotations[index] = labels.copy()
        return self._process(index, frame, labels)

    def remove_annotation(self, index: int) -> None:
        """Forget a given mask; its permanent memory entry goes too."""
        self.annotations.pop(index, None)
        entry = self.bank.find_frame(index)
        if entry is not None and entry.kind == EntryKind.PERMANENT:
            self.bank.evict(entry.id)

    def forget_predictions(self, frames: Iterable[int]) -> int:
        """Drop what memory learnt from these frames' *predictions* (their working and long-term
        entries, and the local-window frame if it is one of them), e.g. when the user undoes the
        run that made them. Given masks (permanent entries) stay. Returns the entries dropped."""
        frames = set(frames)
        dropped = [e for e in self.bank.entries() if e.frame in frames and e.kind != EntryKind.PERMANENT]
        for entry in dropped:
            self.bank.evict(entry.id)
        if any(r.frame in frames for r in self.bank.recent):
            self.bank.clear_recent()
            self._last_index = None
        return len(dropped)

    def step(self, frame: np.ndarray, index: int, labels: np.ndarray | None = None) -> FrameResult:
        """Process one frame: with ``labels`` it is annotated, otherwise predicted from memory."""
        if labels is not None:
            return self.annotate(index, labels, frame)
        return self._process(index, frame, None)

    def propagate(
        self,
        start: int,
        end: int,
        direction: Direction = "forward",
        seed: np.ndarray | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[FrameResult]:
        """Yield results for the frames after ``start`` up to ``end`` (inclusive) in ``direction``.

        The start frame's mask is its annotation, else ``seed`` (e.g. a mask predicted earlier and
        kept by the caller), else the session's own last result when ``start`` is the last frame
        processed. Annotated frames on the way are used as given. ``should_stop`` is polled between
        frames; the generator can also simply be closed.
        """
        if self.frames is None:
            raise VosInputError("this session has no frame source to propagate over")
        n = len(self.frames)
        if not (0 <= start < n and 0 <= end < n):
            raise VosInputError(f"frames {start}..{end} are outside the video (0..{n - 1})")
        step = 1 if direction == "forward" else -1
        if (end - start) * step < 0:
            raise VosInputError(f"cannot propagate {direction} from frame {start} to frame {end}")
        self._seed(start, seed)
        indices = list(range(start + step, end + step, step))
        if not indices:
            return
        # pipeline: the next frame is read and encoded on a second core while this one is read out
        pool = ThreadPoolExecutor(1, thread_name_prefix="vos-prefetch")
        try:
            pending = pool.submit(self._prepare, indices[0], None)
            for pos, index in enumerate(indices):
                if should_stop is not None and should_stop():
                    return
                prepared = pending.result()
                if pos + 1 < len(indices):
                    pending = pool.submit(self._prepare, indices[pos + 1], None)
                yield self._process(index, None, self.annotations.get(index), prepared=prepared)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def reseed(self, index: int, labels: np.ndarray, frame: np.ndarray | None = None) -> FrameResult:
        """Clear the whole memory (permanent entries too) and restart from this frame's mask."""
        self.bank.reset(keep_permanent=False)
        self.annotations = {}
        self._last_index = None
        return self.annotate(index, labels, frame)

    def reset_memory(self, keep_permanent: bool = True) -> None:
        self.bank.reset(keep_permanent)
        self._last_index = None

    # ------------------------------------------------------------------ memory operations (GUI)
    def memory_stats(self) -> MemoryStats:
        """A snapshot of the memory (entries, recent frames, bytes) for display."""
        return self.bank.stats()

    def pin(self, entry_id: int, pinned: bool = True) -> None:
        """Pinned entries are never consolidated or evicted by the policy. KeyError if gone."""
        self.bank.pin(entry_id, pinned)

    def evict(self, entry_id: int) -> None:
        """Drop one memory entry. KeyError if it is gone already."""
        self.bank.evict(entry_id)

    def update_config(self, config: SessionConfig) -> bool:
        """Apply new settings to this running session in place, keeping its memory (working and
        long-term entries are only trimmed to new, smaller limits). Memory, readout and thread
        settings can change in place; a different architecture, device, processing height or
        encoder acceleration cannot: then nothing changes and False is returned (build a new
        session)."""
        old = self.config
        if (config.arch, config.device, config.process_height, config.accelerate) != (
            old.arch, old.device, old.process_height, old.accelerate
        ):
            return False
        if config.threads != old.threads:
            set_encoder_threads(self.model, ThreadBudget.of(config.threads).encoder)
        self.bank.reconfigure(config.memory)
        self.config = config
        return True

    def remove_object(self, object_id: int) -> None:
        """Forget an object everywhere (memory values and stored annotations)."""
        slot = self.objects.remove(object_id)
        self.bank.drop_object(slot)
        for labels in self.annotations.values():
            labels[labels == object_id] = 0

    # ------------------------------------------------------------------ internals
    def _seed(self, start: int, seed: np.ndarray | None) -> None:
        contiguous = self._last_index == start and bool(self.bank.recent)
        if start in self.annotations:
            if not contiguous or self.bank.recent[-1].frame != start:
                self._process(start, None, self.annotations[start])
            return
        if seed is not None:
            self._process(start, None, self._check_labels(seed), permanent=False)
            return
        if not contiguous:
            raise VosInputError(
                f"frame {start} has no mask to start from: annotate it or propagate up to it first"
            )

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

    def _encode(self, rgb: np.ndarray) -> FrameFeatures:
        hw = processing_size(
            self._frame_hw or rgb.shape[:2], self.process_height, self.model.min_process_height
        )
        rgb = resize_frame(rgb, hw)
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

    def _prepare(self, index: int, frame: np.ndarray | None) -> _Prepared:
        """Read (unless given) and encode one frame; safe to run on the prefetch thread."""
        t0 = time.perf_counter()
        rgb = self._read(index, frame)
        t1 = time.perf_counter()
        feats = self._encode(rgb)
        t2 = time.perf_counter()
        return _Prepared(feats, (t1 - t0) * 1000, (t2 - t1) * 1000)

    def _process(
        self,
        index: int,
        frame: np.ndarray | None,
        given: np.ndarray | None,
        permanent: bool = True,
        prepared: _Prepared | None = None,
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
                probs, readout_ms = self._read_and_decode(feats, ids)
                agg = aggregate(probs, self.model.exclusive)  # background + objects
                assert self._frame_hw is not None
                labels = probs_to_labels(upsample_to(agg, self._frame_hw), ids)
                share = float(self.bank.recent_contribution)
                quality = self.quality.predicted(index, feats.key, agg, ids, share)
            t1 = time.perf_counter()
            added = self._memorise(index, feats, probs, labels, given is not None, permanent)
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
            memory=self.bank.stats(),
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

    def _read_and_decode(self, feats: FrameFeatures, ids: tuple[int, ...]) -> tuple[torch.Tensor, float]:
        """Read the memory for this frame and decode -> (O×H×W object probabilities at the
        processing resolution, readout milliseconds). Zeros when there is nothing to read."""
        if not ids or not (len(self.bank) or self.bank.recent):
            return torch.zeros((len(ids), *feats.image_hw), device=self.device), 0.0
        t0 = time.perf_counter()
        view = self.bank.view()
        readout = self.model.read_memory(
            feats, view, [r.features for r in self.bank.recent], self.config.readout
        )
        readout_ms = (time.perf_counter() - t0) * 1000
        probs = self.model.decode(feats, readout)
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
