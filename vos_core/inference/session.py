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

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from vos_core.config import SessionConfig
from vos_core.data.source_base import resize_frame
from vos_core.errors import VosInputError
from vos_core.inference.frames import processing_size
from vos_core.inference.objects import resize_labels
from vos_core.inference.pipeline import FramePipeline
from vos_core.inference.results import FrameResult
from vos_core.memory.entries import EntryKind
from vos_core.models.encoders.shared import set_encoder_threads
from vos_core.threads import ThreadBudget

__all__ = ["Direction", "InferenceSession", "processing_size"]

Direction = Literal["forward", "backward"]


class InferenceSession(FramePipeline):
    """Propagates object masks through one video with a memory-based model: ``InferenceSession(frames,
    config, model)`` (:class:`~vos_core.inference.pipeline.FramePipeline` holds the state and the
    per-frame work)."""

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
        self.predictions.forget([index])
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

    def forget_shown(self, frames: Iterable[int]) -> None:
        """These frames' kept predictions (:attr:`predictions`) are no longer what the user has (an
        undone run): a later correction neither fuses with them nor stops early on them."""
        self.predictions.forget(frames)

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
        """Pin frame ``index``'s memory. A reference: its entry (now or once written). A predicted
        frame, with ``labels`` the mask shown for it: one pinned working entry encoded from that
        mask (now when memory holds the frame, else when the next run starts; a run keeps it as
        it is), so the caller that keeps the mask restores the pin exactly. Without ``labels``:
        the frame's entries as they are."""
        if labels is not None:
            labels = self._check_labels(labels)
            self._register_objects(labels)
        self.refs.pin_frame(index, labels, self._encode_value if self.frames is not None else None)

    def unpin_frame(self, index: int) -> None:
        """Frame ``index``'s memory is pinned no more (its entries stay, unpinned)."""
        self.refs.unpin_frame(index)

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
        self.adapt()
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
                result = self._process(index, None, self.annotations.get(index), prepared=prepared)
                if not result.given:
                    self.predictions.record(
                        index, result.labels, result.object_ids, result.object_quality, start
                    )
                yield result
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
    def pin(self, entry_id: int, pinned: bool = True) -> None:
        """Pinned entries are never consolidated or evicted by the policy. KeyError if gone."""
        self.bank.pin(entry_id, pinned)

    def evict(self, entry_id: int) -> None:
        """Drop one memory entry. KeyError if it is gone already."""
        self.bank.evict(entry_id)

    def update_config(self, config: SessionConfig) -> bool:
        """Apply new settings to this running session in place, keeping its memory (working and
        long-term entries are only trimmed to new, smaller limits). Memory, readout and thread
        settings (the adaptation's threads included) and flip can change in place; a different
        architecture, device, processing height, encoder acceleration or adaptation cannot: then
        nothing changes and False is returned (build a new session)."""
        old = self.config
        if (config.arch, config.device, config.process_height, config.accelerate) != (
            old.arch, old.device, old.process_height, old.accelerate
        ) or replace(config.adapt, threads=0) != replace(old.adapt, threads=0):
            return False
        if config.threads != old.threads:
            set_encoder_threads(self.model, ThreadBudget.of(config.threads).encoder)
        self.bank.reconfigure(config.memory)
        self.adapter.config = config.adapt  # at most its thread count differs
        self.config = config
        return True

    def remove_object(self, object_id: int) -> None:
        """Forget an object everywhere (memory values and stored annotations)."""
        slot = self.objects.remove(object_id)
        self.bank.drop_object(slot)
        self.refs.drop_object(object_id)

    # ------------------------------------------------------------------ adaptation
    def adaptation_due(self) -> int:
        """How many references the adaptation will learn from when the next run starts: 0 unless
        a refit is due (the references or objects changed since the last one; it takes seconds)."""
        if not self.adapter.stale(self.annotations, self.objects.ids):
            return 0
        return self.adapter.learns_from(self.annotations)

    def keep_adaptation_in(self, folder: str | Path | None) -> None:
        """Keep each adaptation fit in ``folder`` (e.g. the app's project) with the digests of the
        masks it learnt from, and reuse the one kept there instead of refitting when the references
        are the same (a reopened project); None: keep nothing (:mod:`vos_core.adapt.store`)."""
        self.adapter.keep_in(folder)

    def adapt(
        self,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> bool:
        """Fit the adaptation to the references if they changed (every run does this first; call
        it before to time, announce or cancel it); when the model to run changes, the references are
        encoded again with it (lazily, as new references). ``should_stop`` is polled between the
        refit's steps, ``progress(steps done, total)`` hears each. -> False when ``should_stop``
        ended the refit (nothing changed; it is still due)."""
        model = self.adapter.sync(
            self.annotations, self.objects.ids, self._reference_view, should_stop, progress
        )
        if model is None:
            return False
        if model is not self.model:
            self.model = model
            for index, labels in list(self.annotations.items()):
                self.set_reference(index, labels)
            self.refs.model_changed()
        return True

    # ------------------------------------------------------------------ internals
    def _reference_view(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index`` and its reference at the processing size (h×w×3 uint8, h×w labels)."""
        rgb = self._read(index, None)
        hw = self._processing_hw(rgb)
        return resize_frame(rgb, hw), resize_labels(self.annotations[index], hw)

    def _forget_recent(self, frames: Iterable[int]) -> None:
        if self.bank.forget_recent(frames):
            self._last_index = None

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
