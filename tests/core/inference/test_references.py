"""References (given masks), run-range forgetting, pins by frame and undo/redo of a run's memory."""

import numpy as np
import pytest

from tests.core.synthetic import SyntheticVideo, iou
from vos_core.config import MemoryConfig, SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.memory.entries import EntryKind


@pytest.fixture(scope="module")
def model():
    return InferenceSession(config=SessionConfig()).model


def session(video, model, **memory) -> InferenceSession:
    cfg = SessionConfig(memory=MemoryConfig(**{"every": 2, "working_size": 3, **memory}))
    return InferenceSession(video, cfg, model=model)


def kinds(s: InferenceSession) -> list[tuple[int, EntryKind]]:
    return [(e.frame, e.kind) for e in s.bank.entries()]


def shifted(labels: np.ndarray, dx: int) -> np.ndarray:
    """A deliberately wrong mask: the object moved ``dx`` pixels to the right."""
    return np.roll(labels, dx, axis=1)


def test_set_reference_drops_the_frames_entries_now_and_encodes_lazily(model, monkeypatch) -> None:
    video = SyntheticVideo(n=12)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    list(s.propagate(0, 11))
    predicted = [e.frame for e in s.bank.entries() if e.kind == EntryKind.WORKING]
    assert 6 in predicted
    encoded = []
    original = type(model).encode_frame
    monkeypatch.setattr(type(model), "encode_frame", lambda m, *a: encoded.append(1) or original(m, *a))
    s.set_reference(6, video.labels(6))
    assert encoded == []  # nothing encoded yet
    assert 6 not in [e.frame for e in s.bank.entries()]  # the predicted entry is gone at once
    assert s.annotations.keys() == {0, 6}
    results = s.propagate(0, 11)
    first = next(results)  # the run starts: the reference is written, as a permanent entry
    assert (6, EntryKind.PERMANENT) in kinds(s)
    assert first.index == 1
    rest = {r.index: r for r in results}
    assert rest[6].given and np.array_equal(rest[6].labels, video.labels(6))


def test_remove_reference_means_the_frame_is_predicted(model) -> None:
    video = SyntheticVideo(n=12)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    s.annotate(6, shifted(video.labels(6), 30))  # a wrong mask, then "clear"
    s.remove_reference(6)
    assert 6 not in s.annotations
    assert (6, EntryKind.PERMANENT) not in kinds(s)
    results = {r.index: r for r in s.propagate(0, 11)}
    assert not results[6].given
    assert all(e.kind != EntryKind.PERMANENT or e.frame == 0 for e in s.bank.entries())
    clean = session(video, model)  # never told about frame 6: the very same masks
    clean.annotate(0, video.labels(0))
    assert all(np.array_equal(r.labels, results[r.index].labels) for r in clean.propagate(0, 11))
    assert iou(results[3].labels == 1, video.labels(3) == 1) > 0.55


def test_a_run_forgets_the_unpinned_predictions_of_its_range(model) -> None:
    video = SyntheticVideo(n=14)
    s = session(video, model, long_term_size=4)
    s.annotate(0, video.labels(0))
    list(s.propagate(0, 13))
    before = s.bank.entries()
    assert any(e.kind == EntryKind.LONG_TERM for e in before)
    pinned = next(e for e in before if e.kind == EntryKind.WORKING)
    s.pin(pinned.id)
    outside = [e.frame for e in before if e.frame <= 5 and e.kind != EntryKind.PERMANENT]
    run = s.propagate(5, 13, seed=video.labels(5))
    next(run)  # frame 6: every=2, so the run has made no entry yet
    frames = {(e.frame, e.kind) for e in s.bank.entries()}
    predicted_in_range = [f for f, k in frames if f > 5 and k != EntryKind.PERMANENT]
    assert predicted_in_range == ([pinned.frame] if pinned.frame > 5 else [])
    assert set(outside) <= {f for f, _ in frames}  # entries of frames before the run stay
    assert any(e.pinned and e.id == pinned.id for e in s.bank.entries())


def test_rebuilt_session_gives_the_same_masks_byte_for_byte(model) -> None:
    """A corrected session and a new one told the same references propagate identically."""
    video = SyntheticVideo(n=16)
    first = session(video, model)
    first.set_reference(0, video.labels(0))
    m0 = {r.index: r.labels for r in first.propagate(0, 15)}
    first.set_reference(5, shifted(video.labels(5), 12))  # a correction (different from m0[5])
    m1 = {r.index: r.labels for r in first.propagate(0, 15)}
    assert any(not np.array_equal(m0[i], m1[i]) for i in m1)
    second = session(video, model)
    second.set_reference(0, video.labels(0))
    second.set_reference(5, shifted(video.labels(5), 12))
    again = {r.index: r.labels for r in second.propagate(0, 15)}
    assert again.keys() == m1.keys()
    assert all(np.array_equal(again[i], m1[i]) for i in m1)
    assert [(e.frame, e.kind) for e in first.bank.entries()] == kinds(second)


def test_undo_keeps_pins_and_redo_remembers_the_runs_entries(model) -> None:
    video = SyntheticVideo(n=12)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    results = list(s.propagate(0, 11))
    made = {r.index: r.labels for r in results if r.memory_added == EntryKind.WORKING}
    assert made
    pinned = next(e for e in s.bank.entries() if e.kind == EntryKind.WORKING)
    s.pin(pinned.id)
    s.forget_predictions(range(1, 12))  # undo of the run
    assert kinds(s) == [(0, EntryKind.PERMANENT), (pinned.frame, EntryKind.WORKING)]
    assert s.pinned_frames() == [pinned.frame]
    assert s.remember(made) == len(made) - 1  # redo (the pinned entry was kept)
    frames = {e.frame for e in s.bank.entries()}
    assert set(made) <= frames | {e.frame for e in s.bank.entries() if e.kind == EntryKind.LONG_TERM}
    assert len(s.bank) == 1 + len(made)
    assert s.pinned_frames() == [pinned.frame]


def test_pins_by_frame_survive_a_correction_and_a_rebuild(model) -> None:
    video = SyntheticVideo(n=12)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    list(s.propagate(0, 11))
    entry = next(e for e in s.bank.entries() if e.kind == EntryKind.WORKING)
    s.pin(entry.id)
    s.set_reference(entry.frame, video.labels(entry.frame))  # the pinned frame is corrected
    assert s.pinned_frames() == [entry.frame]
    next(s.propagate(0, 11))
    written = s.bank.find_frame(entry.frame)
    assert written is not None and written.kind == EntryKind.PERMANENT and written.pinned
    # a new session (a reopened project): the pins are restored by frame
    rebuilt = session(video, model)
    rebuilt.set_reference(0, video.labels(0))
    rebuilt.pin_frame(0)
    rebuilt.pin_frame(7, video.labels(7))  # a predicted frame: encoded from its stored mask
    assert rebuilt.pinned_frames() == [0, 7] and len(rebuilt.bank) == 0
    next(rebuilt.propagate(0, 11))
    got = {(e.frame, e.kind, e.pinned) for e in rebuilt.bank.entries()}
    assert {(0, EntryKind.PERMANENT, True), (7, EntryKind.WORKING, True)} <= got
    assert rebuilt.pinned_frames() == [0, 7]


def test_a_pinned_prediction_survives_a_rebuild_byte_for_byte(model) -> None:
    """Issue 24: with one pinned prediction, a rebuilt session (a reopened project) told the
    references and the pin's mask propagates the same bytes as the session it replaces, and a
    run that passes the pinned frame keeps its entry (one row per frame)."""
    video = SyntheticVideo(n=16)
    s = session(video, model)
    s.set_reference(0, video.labels(0))
    m0 = {r.index: r.labels for r in s.propagate(0, 15)}
    entry = next(e for e in s.bank.entries() if e.kind == EntryKind.WORKING and e.frame >= 6)
    frame = entry.frame
    s.pin_frame(frame, m0[frame])  # the app pins the mask it shows (and keeps it in the project)
    pinned = [(e.id, e.frame, e.kind, e.pinned) for e in s.bank.entries() if e.frame == frame]
    assert pinned == [(entry.id, frame, EntryKind.WORKING, True)]  # the same row, re-encoded
    m1 = {r.index: r.labels for r in s.propagate(0, 15)}
    assert [e.frame for e in s.bank.entries()].count(frame) == 1  # the run kept the pinned entry
    m2 = {r.index: r.labels for r in s.propagate(0, 15)}
    assert all(np.array_equal(m1[i], m2[i]) for i in m1)
    rebuilt = session(video, model)
    rebuilt.set_reference(0, video.labels(0))
    rebuilt.pin_frame(frame, m0[frame])
    again = {r.index: r.labels for r in rebuilt.propagate(0, 15)}
    assert again.keys() == m1.keys()
    changed = [i for i in m1 if not np.array_equal(again[i], m1[i])]
    assert changed == []
    assert rebuilt.pinned_frames() == s.pinned_frames() == [frame]
