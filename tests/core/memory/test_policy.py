"""The write policy: which frames memory keeps, and how (decided with the bank, not the session)."""

from vos_core.config import MemoryConfig
from vos_core.memory.entries import EntryKind
from vos_core.memory.policy import MemoryWrite, WritePolicy


def test_predictions_become_working_entries_every_n_frames_and_renew_the_window_by_gap() -> None:
    policy = WritePolicy(MemoryConfig(every=3, recent_gap=2))
    first = policy.plan(None, True, 0, given=True, permanent=True)
    assert first == MemoryWrite(recent=True, kind=EntryKind.PERMANENT, soft=False)
    recent, plans = 0, []
    for i in range(1, 7):
        plans.append(policy.plan(recent, False, i, given=False, permanent=True))
        recent = i if plans[-1] and plans[-1].recent else recent
    kinds = [p.kind if p else None for p in plans]
    assert kinds == [None, None, EntryKind.WORKING, None, None, EntryKind.WORKING]
    assert [bool(p and p.recent) for p in plans] == [False, True, False, True, False, True]
    assert all(p.soft for p in plans if p)


def test_a_seed_is_memorised_hard_as_working_and_an_empty_bank_takes_the_next_frame() -> None:
    policy = WritePolicy(MemoryConfig(every=5))
    seed = policy.plan(None, True, 10, given=True, permanent=False)
    assert seed == MemoryWrite(recent=True, kind=EntryKind.WORKING, soft=False)
    assert policy.plan(10, True, 11, given=False, permanent=True).kind == EntryKind.WORKING
