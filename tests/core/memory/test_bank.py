"""Memory bank policies and the operations the GUI calls."""

import pytest
import torch

from vos_core.config import MemoryConfig
from vos_core.memory.bank import MemoryBank
from vos_core.memory.entries import EntryKind, MemoryFeatures


def feats(n_pixels: int = 12, objects: int = 1, fill: float = 1.0) -> MemoryFeatures:
    return MemoryFeatures(
        key=torch.randn(4, n_pixels), value=torch.full((objects, 1, n_pixels), fill), hw=(3, 4)
    )


def bank(**kw) -> MemoryBank:
    return MemoryBank(MemoryConfig(**{"working_size": 2, "long_term_size": 2, "long_term_keep": 0.25, **kw}))


def test_entries_are_typed_and_sized() -> None:
    b = bank()
    e = b.add(0, feats(), EntryKind.PERMANENT)
    info = b.infos()[0]
    assert (info.frame, info.kind, info.pinned, info.id) == (0, EntryKind.PERMANENT, False, e.id)
    assert info.nbytes == e.nbytes > 0
    assert info.n_pixels == 12


def test_working_memory_is_bounded_and_consolidates_oldest() -> None:
    b = bank()
    b.add(0, feats(), EntryKind.PERMANENT)
    for f in (5, 10, 15):
        b.add(f, feats(), EntryKind.WORKING)
    kinds = {e.frame: e.kind for e in b.entries()}
    assert kinds == {0: EntryKind.PERMANENT, 5: EntryKind.LONG_TERM, 10: EntryKind.WORKING,
                     15: EntryKind.WORKING}
    lt = next(e for e in b.entries() if e.kind == EntryKind.LONG_TERM)
    assert lt.features.n_pixels == 3  # 25 % of 12 pixels kept
    assert lt.features.fine_key is None and lt.features.hw is None


def test_consolidation_keeps_the_most_used_pixels() -> None:
    b = bank(long_term_keep=0.25)
    e = b.add(5, feats(), EntryKind.WORKING)
    e.pixel_usage[torch.tensor([1, 7, 11])] = 5.0
    for f in (10, 15):
        b.add(f, feats(), EntryKind.WORKING)
    assert e.kind == EntryKind.LONG_TERM
    assert torch.equal(e.pixel_usage, torch.full((3,), 5.0))


def test_long_term_evicts_least_used() -> None:
    b = bank()
    for f in range(0, 60, 5):
        e = b.add(f, feats(), EntryKind.WORKING)
        e.usage, e.reads = float(f % 20), 1  # frames 20, 40 have usage 0
    lt = [e for e in b.entries() if e.kind == EntryKind.LONG_TERM]
    assert len(lt) == 2
    assert b.count(EntryKind.WORKING) == 2
    assert all(e.usage_rate > 0 for e in lt)


def test_memory_stays_bounded_on_long_videos() -> None:
    b = bank()
    b.add(0, feats(), EntryKind.PERMANENT)
    sizes = []
    for f in range(1, 2000):
        b.add(f, feats(), EntryKind.WORKING)
        sizes.append(b.nbytes)
    assert len(b) == 1 + 2 + 2
    assert max(sizes[100:]) == max(sizes[10:100])


def test_pinned_entries_are_never_consolidated_or_evicted() -> None:
    b = bank()
    first = b.add(5, feats(), EntryKind.WORKING)
    b.pin(first.id)
    for f in (10, 15, 20, 25):
        b.add(f, feats(), EntryKind.WORKING)
    assert b.get(first.id).kind == EntryKind.WORKING
    b.pin(first.id, False)  # unpinning lets the policy apply again
    assert b.count(EntryKind.WORKING) <= 2


def test_correction_replaces_prediction_but_prediction_never_replaces_given() -> None:
    b = bank()
    w = b.add(7, feats(fill=0.0), EntryKind.WORKING)
    p = b.add(7, feats(fill=1.0), EntryKind.PERMANENT)
    assert [e.id for e in b.entries()] == [p.id] and p.id != w.id
    again = b.add(7, feats(fill=0.0), EntryKind.WORKING)
    assert again is p and float(p.features.value.sum()) == 12.0


def test_evict_reset_and_view() -> None:
    b = bank()
    p = b.add(0, feats(), EntryKind.PERMANENT)
    w = b.add(3, feats(), EntryKind.WORKING)
    view = b.view()
    assert view is not None and view.size == 24 and len(view.segments) == 2
    b.evict(w.id)
    assert b.view().size == 12
    with pytest.raises(KeyError):
        b.evict(w.id)
    b.add(4, feats(), EntryKind.WORKING)
    b.reset(keep_permanent=True)
    assert [e.id for e in b.entries()] == [p.id]
    b.reset(keep_permanent=False)
    assert len(b) == 0 and b.view() is None


def test_usage_is_recorded_per_entry() -> None:
    b = bank()
    a = b.add(0, feats(), EntryKind.PERMANENT)
    c = b.add(3, feats(), EntryKind.WORKING)
    view = b.view()
    weight = torch.cat([torch.full((12,), 3.0), torch.full((12,), 1.0)])
    b.record_usage(view, weight, n_queries=4)
    assert a.last_contribution == pytest.approx(0.75)
    assert c.last_contribution == pytest.approx(0.25)
    assert a.reads == 1 and a.usage == pytest.approx(9.0)


def test_objects_added_later_pad_memory_and_removal_drops_them() -> None:
    b = bank()
    b.add(0, feats(objects=1), EntryKind.PERMANENT)
    b.push_recent(0, feats(objects=1))
    b.pad_objects(3)
    assert b.view().value.shape[0] == 3
    assert b.recent[0].features.n_objects == 3
    b.drop_object(1)
    assert b.view().value.shape[0] == 2


def test_recent_frames_are_a_bounded_fifo() -> None:
    b = bank(recent_frames=2)
    for f in range(5):
        b.push_recent(f, feats())
    assert [r.frame for r in b.recent] == [3, 4]
