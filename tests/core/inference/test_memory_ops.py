"""The session's memory operations for the GUI: stats, pin, evict and in-place settings changes."""

import dataclasses

import pytest

from tests.core.synthetic import SyntheticVideo
from vos_core.config import MemoryConfig, ReadoutConfig, SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.memory.entries import EntryKind
from vos_core.models.encoders.runner import FrozenEncoder


@pytest.fixture(scope="module")
def model():
    return InferenceSession(config=SessionConfig()).model


def _session(video, model, **memory) -> InferenceSession:
    cfg = SessionConfig(memory=MemoryConfig(**{"every": 1, "working_size": 3, **memory}))
    return InferenceSession(video, cfg, model=model)


def _propagated(model, n: int) -> tuple[SyntheticVideo, InferenceSession]:
    """A session that memorised every frame of an n-frame video, frame 0 given."""
    video = SyntheticVideo(n=n)
    s = _session(video, model)
    s.annotate(0, video.labels(0))
    list(s.propagate(0, n - 1))
    return video, s


def test_stats_pin_and_evict_go_through_the_session(model, one_thread) -> None:
    _, s = _propagated(model, 4)
    stats = s.memory_stats()
    assert stats.count(EntryKind.PERMANENT) == 1 and stats.count(EntryKind.WORKING) == 3
    working = [e for e in stats.entries if e.kind == EntryKind.WORKING]
    s.pin(working[0].id)
    assert next(e for e in s.memory_stats().entries if e.id == working[0].id).pinned
    s.evict(working[1].id)
    assert working[1].id not in {e.id for e in s.memory_stats().entries}
    with pytest.raises(KeyError):
        s.evict(working[1].id)


def test_update_config_keeps_memory_and_applies_new_limits(model, one_thread) -> None:
    video, s = _propagated(model, 6)
    before = s.memory_stats()
    assert before.count(EntryKind.WORKING) == 3 and before.count(EntryKind.LONG_TERM) == 2
    smaller = SessionConfig(memory=MemoryConfig(every=2, working_size=2), readout=ReadoutConfig(top_k=5))
    assert s.update_config(smaller)
    after = s.memory_stats()
    assert s.config is smaller and s.bank.config == smaller.memory
    assert after.count(EntryKind.PERMANENT) == 1
    assert after.count(EntryKind.WORKING) == 2 and after.count(EntryKind.LONG_TERM) == 3
    # the session keeps going from where it was
    assert [r.index for r in s.propagate(5, 5)] == []
    s.annotate(5, video.labels(5))
    assert s.memory_stats().count(EntryKind.PERMANENT) == 2


@pytest.mark.parametrize(
    "change", [{"arch": "stcn"}, {"device": "cuda"}, {"process_height": 240}, {"accelerate": False}]
)
def test_update_config_refuses_changes_that_need_a_new_session(model, change) -> None:
    s = _session(SyntheticVideo(n=2), model)
    config = s.config
    assert not s.update_config(dataclasses.replace(config, **change))
    assert s.config is config


def test_update_config_changes_the_encoder_threads(model) -> None:
    s = InferenceSession(SyntheticVideo(n=2), SessionConfig(threads=2), model=model)
    assert s.update_config(SessionConfig(threads=4))
    encoders = [v for m in s.model.modules() for v in vars(m).values() if isinstance(v, FrozenEncoder)]
    assert encoders and all(e.threads == 2 for e in encoders)  # 4 threads: half for the encoder
    assert s.update_config(SessionConfig(threads=2))
    assert all(e.threads == 1 for e in encoders)
