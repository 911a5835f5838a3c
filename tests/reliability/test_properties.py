"""Property-based tests of the two loaders that read files users and crashes produce.

* ``read_mask``: any label map / colour image, in any of the formats users save masks in, gives
  back the exact labels or raises ``VosInputError``, never another exception.
* ``Project.open_for``: any mutation of a valid ``project.json`` (or a damaged file) loads into a
  valid state or raises ``ProjectError``, never another exception.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from app.model.mask_files import write_mask_file
from app.model.project import Project
from app.model.settings import config_from_dict
from vos_core.data.masks import davis_palette, read_mask, write_mask
from vos_core.errors import ProjectError, VosInputError

# the autouse fixtures of conftest.py (isolated QSettings, thread check) are function-scoped: harmless
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


# ---------------------------------------------------------------------------- masks
def expected_gray(gray: np.ndarray) -> np.ndarray | None:
    """The documented reading of a grayscale mask (None: it must be refused)."""
    values = {int(v) for v in np.unique(gray)}
    if values <= {0, 255} or values <= {0, 1} or values <= {0, 65535}:
        return (gray > 0).astype(np.uint8)
    if max(values) < 256 and len(values) <= 64:
        return gray.astype(np.uint8)
    return None


def check_read(path: Path, expected: np.ndarray | None, hw: tuple[int, int] | None) -> None:
    """``read_mask`` gives ``expected`` (None: it must refuse) or refuses with VosInputError."""
    try:
        labels = read_mask(path, hw)
    except VosInputError as error:
        assert str(error) and "\n" not in str(error)
        must_succeed = expected is not None and (hw is None or hw == expected.shape)
        assert not must_succeed, f"refused a valid mask: {error}"
        return
    assert expected is not None, "accepted a mask that must be refused"
    assert labels.dtype == np.uint8 and labels.shape == expected.shape
    np.testing.assert_array_equal(labels, expected)
    assert hw is None or labels.shape == hw


shapes = st.tuples(st.integers(1, 12), st.integers(1, 12))
label_values = st.lists(st.integers(0, 255), min_size=1, max_size=6, unique=True)


@st.composite
def label_maps(draw: st.DrawFn, high: int = 255) -> np.ndarray:
    shape = draw(shapes)
    values = draw(st.lists(st.integers(0, high), min_size=1, max_size=6, unique=True))
    dtype = np.uint8 if high < 256 else np.uint16
    index = draw(arrays(np.uint8, shape, elements=st.integers(0, len(values) - 1)))
    return np.asarray(values, dtype=dtype)[index]


FORMATS = ["palette", "gray", "gray16", "rgb_palette", "rgba_palette", "rgb_any", "truncated", "noise"]


@SETTINGS
@given(
    fmt=st.sampled_from(FORMATS),
    labels=label_maps(),
    wide=label_maps(high=65535),
    colours=arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3)),
                   elements=st.sampled_from([0, 64, 128, 192, 255, 13])),
    alpha=st.data(),
    wrong_size=st.booleans(),
    cut=st.floats(0.0, 1.0),
)  # fmt: skip
def test_read_mask_gives_exact_labels_or_refuses(
    workdir: Path, fmt: str, labels: np.ndarray, wide: np.ndarray, colours: np.ndarray,
    alpha: st.DataObject, wrong_size: bool, cut: float,
) -> None:  # fmt: skip
    path = workdir / "mask.png"
    palette = davis_palette()
    expected: np.ndarray | None
    if fmt in ("palette", "truncated", "noise"):
        write_mask(path, labels)
        expected = labels
        if fmt == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * cut)])
        elif fmt == "noise":
            path.write_bytes(np.random.default_rng(int(cut * 1e6)).bytes(64 + int(cut * 500)))
            expected = None
    elif fmt == "gray":
        Image.fromarray(labels).save(path)
        expected = expected_gray(labels)
    elif fmt == "gray16":
        Image.fromarray(wide).save(path)
        expected = expected_gray(wide)
    elif fmt == "rgb_palette":
        Image.fromarray(palette[labels]).save(path)
        expected = labels
    elif fmt == "rgba_palette":
        opaque = alpha.draw(arrays(np.bool_, labels.shape))
        rgba = np.dstack([palette[labels], np.where(opaque, 255, 0).astype(np.uint8)])
        Image.fromarray(rgba).save(path)
        expected = np.where(opaque, labels, 0).astype(np.uint8)
    else:  # any colours: those in the palette map to their index, any other colour is refused
        Image.fromarray(colours).save(path)
        lookup = {tuple(int(c) for c in rgb): index for index, rgb in enumerate(palette)}
        indices = [lookup.get(tuple(int(c) for c in rgb)) for rgb in colours.reshape(-1, 3)]
        known = all(index is not None for index in indices)
        expected = np.array(indices, np.uint8).reshape(colours.shape[:2]) if known else None
    shape = None if expected is None else expected.shape
    hw = (shape[0] + 1, shape[1]) if wrong_size and shape is not None else shape
    if fmt == "truncated" and cut < 1.0:
        try:
            check_read(path, expected, hw)
        except AssertionError as error:  # a cut file may be refused, never misread
            assert "refused a valid mask" in str(error)
        return
    check_read(path, expected, hw)


# ---------------------------------------------------------------------------- project.json
N_FRAMES, SIZE = 6, (8, 8)


class FakeSource:
    """All ``Project.open_for`` needs of an opened video."""

    size = SIZE

    def __len__(self) -> int:
        return N_FRAMES


def valid_state() -> dict[str, Any]:
    return {
        "version": 1,
        "video_path": "/videos/clip.mp4",
        "frame_count": N_FRAMES,
        "size": list(SIZE),
        "objects": [
            {"id": 1, "name": "cat", "colour": "#800000", "visible": True},
            {"id": 2, "name": "dog", "colour": "#008000", "visible": False},
        ],
        "annotated_frames": [0],
        "propagated_frames": [1, 2],
        "current_frame": 2,
        "settings": {"arch": "propagation", "process_height": 480, "memory": {"every": 5}},
        "confidence": {"1": 0.5, "2": 0.25},
    }


scalars = (
    st.none() | st.booleans() | st.integers(-5, 10) | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6)
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=8,
)
KEYS = [*valid_state(), "unknown"]
frame_keys = st.sampled_from(["0", "2", "4", "9", "-1", "02", "²", "٣"]) | st.text(max_size=3)
mutations = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(KEYS)),
    st.tuples(st.just("set"), st.sampled_from(KEYS), json_values),
    st.tuples(st.just("object"), st.sampled_from(["id", "name", "colour", "visible", "x"]), json_values),
    st.tuples(st.just("append"), st.sampled_from(["objects", "annotated_frames", "propagated_frames"]),
              json_values),
    st.tuples(st.just("confidence"), frame_keys, json_values),
)  # fmt: skip


def mutate(state: dict[str, Any], op: tuple[Any, ...]) -> None:
    kind, key = op[0], op[1]
    if kind == "delete":
        state.pop(key, None)
    elif kind == "set":
        state[key] = op[2]
    elif kind == "object" and isinstance(state.get("objects"), list) and state["objects"]:
        state["objects"][0][key] = op[2]
    elif kind == "append" and isinstance(state.get(key), list):
        state[key].append(op[2])
    elif kind == "confidence" and isinstance(state.get("confidence"), dict):
        state["confidence"][key] = op[2]


def check_valid(project: Project) -> None:
    assert all(0 <= frame < N_FRAMES for frame in project.sources)
    assert set(project.sources.values()) <= {"user", "propagated"}
    assert set(project.confidence) <= set(project.sources)
    assert all(isinstance(c, float) and math.isfinite(c) for c in project.confidence.values())
    ids = [info.id for info in project.objects]
    assert len(set(ids)) == len(ids) and all(1 <= i <= 255 for i in ids)
    assert 0 <= project.current_frame < N_FRAMES
    assert isinstance(project.settings, dict)
    config_from_dict(project.settings)  # what the document does with them: never raises


@pytest.fixture(scope="module")
def project_dirs(workdir: Path) -> Iterator[Path]:
    folder = workdir / "projects"
    folder.mkdir(exist_ok=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@SETTINGS
@given(
    ops=st.lists(mutations, max_size=4),
    damage=st.sampled_from(["none", "none", "truncate", "flip", "replace", "huge_number", "deep"]),
    where=st.floats(0.0, 1.0),
    other=json_values,
)
def test_project_loads_valid_or_raises_project_error(
    project_dirs: Path, ops: list[tuple[Any, ...]], damage: str, where: float, other: Any
) -> None:
    state = valid_state()
    for op in ops:
        mutate(state, op)
    text = json.dumps(other if damage == "replace" else state).encode()
    position = int(len(text) * where) % max(len(text), 1)
    if damage == "truncate":
        text = text[:position]
    elif damage == "flip":
        text = text[:position] + bytes([text[position] ^ 0x5A]) + text[position + 1 :]
    elif damage == "huge_number":  # more digits than Python converts
        text = text[:position] + b"9" * 5000 + text[position:]
    elif damage == "deep":  # deeper than the JSON decoder recurses
        text = b'{"version": 1, "objects": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    directory = Path(tempfile.mkdtemp(dir=project_dirs))
    (directory / "masks").mkdir()
    for frame in (0, 2, 4):  # masks on disk, some listed in the JSON and some not
        write_mask_file(directory / "masks" / f"{frame:05d}.png", np.eye(8, dtype=np.uint8), "user")
    (directory / "project.json").write_bytes(text)
    try:
        project = Project.open_for("/videos/clip.mp4", directory, source=FakeSource())
    except ProjectError as error:
        assert str(error) and "\n" not in str(error)
        return
    check_valid(project)
    again = Project.open_for("/videos/clip.mp4", directory, source=FakeSource())  # saved on open
    assert again.sources == project.sources and again.objects == project.objects
    assert again.problems == []
