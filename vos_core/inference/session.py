"""The inference session: one per video, owns the memory bank and the object registry.

Typical use::

    session = InferenceSession(frames, SessionConfig())
    session.set_reference(0, first_mask)         # given mask -> permanent memory (lazily)
    for result in session.propagate(0, len(frames) - 1):
        save(result.index, result.labels)

``propagate`` is a generator: stop iterating (or pass ``should_stop``) to cancel between frames.

References (:mod:`vos_core.inference.references`) are the given masks: each is a permanent memory
entry that replaces whatever memory held for its frame, encoded when the next run starts
(``annotate`` encodes at once). A run first forgets the unpinned predictions of the frames it is
about to replace, so the memory a run starts from is "references + pins + entries of frames outside
the run": what a reopened project rebuilds from its references and pins.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Literal

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
from vos_core.inference.references import References
from vos_core.inference.results import FrameResult, Timings
from vos_core.memory.bank import MemoryBank, MemoryStats
from vos_core.memory.entries import EntryKind, MemoryFeatures
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.encoders.shared import set_encoder_threads
from vos_core.models.registry import build_model
from vos_core.quality.head import QualityEstimator
from vos_core.threads import ThreadBudget

Direction = Literal["forward", "backward"]


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
        self.refs = References(self.bank)
        #: learns from the references when a run starts (vos_core.adapt); ``model`` is then its copy
        self.adapter = Adapter(self.model, self.config.adapt, self.config.readout, self.device)
        #: the references: frame -> H×W labels (the same dict as ``refs.masks``)
        self.annotations: dict[int, np.ndarray] = self.refs.masks
        self._last_index: int | None = None
        self._frame_hw: tuple[int, int] | None = None

    # ------------------------------------------------------------------ public API
    @property
    def object_ids(self) -> tuple[int, ...]:
        return self.objects.ids

    def set_reference(self, index: int, labels: np.ndarray) -> None:
        """Make the full mask of frame ``index`` (H×W labels, 0 = background) a reference: whatever
        memory held for that frame is dropped now, and the frame becomes a permanent entry when the
        next run starts (no encoding here). Propagation uses it as given whenever it passes this
        frame. New label values become new objects."""
        labels = self._check_labels(labels)
        self._register_objects(labels)
        self.refs.set(index, labels)
        self._forget_recent([index])

    def annotate(self, index: int, labels: np.ndarray, frame: np.ndarray | None = None) -> FrameResult:
        """:meth:`set_reference` and encode it at once (the eager path: CLI, tests)."""
        self.set_reference(index, labels)
        return self._process(index, frame, self.annotations[index])

    def remove_reference(self, index: int) -> None:
        """Frame ``index`` is no reference any more; its permanent memory entry goes too."""
        self.refs.remove(index)

    def forget_predictions(self, frames: Iterable[int]) -> int:
        """Drop what memory learnt from these frames' *predictions* (their unpinned working and
        long-term entries, and the local window if it holds one of them), e.g. when the user undoes
        the run that made them. References and pinned entries stay. Returns the entries dropped."""
        frames = set(frames)
        self._forget_recent(frames)
        return self.refs.forget_predictions(frames)

    def remember(self, masks: Mapping[int, np.ndarray]) -> int:
        """Memorise these predicted masks (frame -> H×W labels) as working entries, e.g. when the
        user redoes a run whose entries an undo dropped; references and frames that still have an
        entry (a pinned one the undo kept) are skipped. -> entries made."""
        done = 0
        for index, labels in sorted(masks.items()):
            if index in self.annotations or any(e.frame == index for e in self.bank.entries()):
                continue
            labels = self._check_labels(labels)
            self._register_objects(labels)
            self.bank.add(index, self._encode_value(index, labels), EntryKind.WORKING)
            done += 1
        return done

    def pinned_frames(self) -> list[int]:
        """Frames whose memory is pinned (to be saved; restore them with :meth:`pin_frame`)."""
        return self.refs.pinned_frames()

    def pin_frame(self, index: int, labels: np.ndarray | None = None) -> None:
        """Pin frame ``index``'s memory: its entries now, else its reference once written, else a
        working entry encoded from ``labels`` (its stored mask) when the next run starts."""
        if labels is not None:
            labels = self._check_labels(labels)
            self._register_objects(labels)
        self.refs.pin_frame(index, labels)

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
        indices = list(range(start + step, end + step, step))
        self._adapt()
        # the run replaces these frames' predictions: memory forgets them first, then takes in
        # the references not yet encoded (the start frame's is written by _seed)
        self.forget_predictions(indices)
        self.refs.flush(self._encode_value, skip=start if start in self.annotations else None)
        self._seed(start, seed)
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
        """Clear the whole memory (permanent entries too) and restart from this frame's mask; the
        other references enter memory again when the next run starts."""
        self.reset_memory(keep_permanent=False)
        return self.annotate(index, labels, frame)

    def reset_memory(self, keep_permanent: bool = True) -> None:
        """Drop the working and long-term entries (pinned too), and the permanent ones unless
        ``keep_permanent``: then the references are written again when the next run starts."""
        self.bank.reset(keep_permanent)
        if keep_permanent:
            self.refs.forget_pins_of_reset()
        else:
            self.refs.all_pending()
        self._last_index = None

    # ------------------------------------------------------------------ memory operations (GUI)
    def memory_stats(self) -> MemoryStats:
        """A snapshot of the memory (entries, recent frames, bytes) for display."""
        return replace(self.bank.stats(), pinned_frames=tuple(self.refs.pinned_frames()))

    def pin(self, entry_id: int, pinned: bool = True) -> None:
        """Pinned entries are never consolidated or evicted by the policy. KeyError if gone."""
        self.bank.pin(entry_id, pinned)

    def evict(self, entry_id: int) -> None:
        """Drop one memory entry. KeyError if it is gone already."""
        self.bank.evict(entry_id)

    def update_config(self, config: SessionConfig) -> bool:
        """Apply new settings to this running session in place, keeping its memory (working and
        long-term entries are only trimmed to new, smaller limits). Memory, readout and thread
        settings can change in place; a different architecture, device, processing height,
        encoder acceleration or adaptation cannot: then nothing changes and False is returned
        (build a new session)."""
        old = self.config
        if (config.arch, config.device, config.process_height, config.accelerate, config.adapt) != (
            old.arch, old.device, old.process_height, old.accelerate, old.adapt
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
        self.refs.drop_object(object_id)

    # ------------------------------------------------------------------ internals
    def _adapt(self) -> None:
        """Fit the adaptation to the references if they changed; when the model to run changes,
        the references are encoded again with it (lazily, as new references)."""
        model = self.adapter.sync(self.annotations, self.objects.ids, self._reference_view)
        if model is not self.model:
            self.model = model
            for index, labels in list(self.annotations.items()):
                self.set_reference(index, labels)

    def _reference_view(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index`` and its reference at the processing size (h×w×3 uint8, h×w labels)."""
        rgb = self._read(index, None)
        hw = self._processing_hw(rgb)
        return resize_frame(rgb, hw), resize_labels(self.annotations[index], hw)

    def _forget_recent(self, frames: Iterable[int]) -> None:
        if self.bank.forget_recent(frames):
            self._last_index = None

    def _encode_value(self, index: int, labels: np.ndarray) -> MemoryFeatures:
        """Frame ``index`` with ``labels`` (H×W) as its hard values -> its memory features."""
        feats = self._prepare(index, None).features
        value = labels_to_probs(resize_labels(labels, feats.image_hw), self.objects.ids)
        with torch.inference_mode(), self._precision():
            return self.model.encode_memory(feats, value.to(self.device))

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
        t2 = time.perf_counter()
        return Prepared(feats, (t1 - t0) * 1000, (t2 - t1) * 1000)

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
                probs, readout_ms = self._read_and_decode(feats, ids)
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
        probs = self.adapter.refine(feats, self.model.decode(feats, readout))
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
