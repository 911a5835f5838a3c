"""Bad inputs through the command line (``vos_core.propagate.main``): one clear line, the inputs
untouched, and either a complete output folder or none at all.

(Zero-byte and random-bytes videos, wrong-size and unknown-colour masks and an output path under a
file are covered by ``tests/core/test_cli.py``; the app-layer side of this corpus is in
``test_bad_inputs_app.py``, the main window in ``test_bad_inputs_gui.py``.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability import corpus
from vos_core import propagate
from vos_core.data.masks import read_mask, write_mask

Builder = Callable[[Path], Path]

# case -> (source builder, masks builder, exit code, text in the message, masks written or None)
CASES: dict[str, tuple[Builder, Builder, int, str, int | None]] = {
    "text file named .mp4": (corpus.text_named_mp4, corpus.good_masks, 2, "notes.mp4", None),
    "truncated mp4 (index lost)": (corpus.truncated_mp4, corpus.good_masks, 2, "truncated.mp4", None),
    "truncated mkv (frames before the cut)": (corpus.truncated_mkv, corpus.good_masks, 0, "", 10),
    "mixed image sizes": (corpus.mixed_size_folder, corpus.good_masks, 2, "00003.png is 64×56", None),
    "non-image files are ignored": (corpus.folder_with_non_images, corpus.good_masks, 0, "", 6),
    "folder without images": (corpus.folder_without_images, corpus.good_masks, 2, "No images", None),
    "text file named .png frame": (corpus.folder_with_fake_image, corpus.good_masks, 2, "00004.png", None),
    "RGB mask in palette colours": (corpus.folder_with_non_images, corpus.rgb_palette_mask, 0, "", 6),
    "labels above 255": (corpus.folder_with_non_images, corpus.labels_over_255_mask, 2, "255", None),
    "text file named .png mask": (corpus.folder_with_non_images, corpus.text_mask, 2, "00000.png", None),
}


pytestmark = pytest.mark.usefixtures("training_free_default")  # see tests/conftest.py


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every builder's output, made once (the tests check that none of them is modified)."""
    root = tmp_path_factory.mktemp("corpus")
    builders = {builder for source, masks, *_ in CASES.values() for builder in (source, masks)}
    built = {builder.__name__: builder(root) for builder in builders}
    built["midway_corrupt_video"] = corpus.midway_corrupt_video(root)
    return built


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_one_line(err: str, prefix: str = "error: ") -> str:
    assert "Traceback" not in err
    lines = lines_of(err)
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    return lines[0]


def run_cli(source: Path, masks: Path, out: Path, *extra: str) -> int:
    return propagate.main([str(source), "--masks", str(masks), "--out", str(out), "--quiet",
                           "--threads", "1", *extra])  # fmt: skip


def assert_no_output(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f"{out.name}.partial-*"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_corpus(case: str, inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    build_source, build_masks, code, text, written = CASES[case]
    source, masks = inputs[build_source.__name__], inputs[build_masks.__name__]
    before = corpus.snapshot(source.parent)
    out = tmp_path / "out"
    assert run_cli(source, masks, out) == code
    err = capsys.readouterr().err
    if code:
        assert text in assert_one_line(err)
        assert_no_output(out)
    else:
        assert lines_of(err) == []
        assert (out / propagate.MANIFEST_NAME).is_file()  # the run's record, beside the masks only
        names = sorted(p.name for p in out.iterdir() if p.name != propagate.MANIFEST_NAME)
        assert names == [f"{i:05d}.png" for i in range(written or 0)]
    assert corpus.snapshot(source.parent) == before


def test_cli_keeps_the_good_frames_of_a_damaged_video(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli(inputs["midway_corrupt_video"], inputs["good_masks"], out) == 0
    io = capsys.readouterr()
    warning = assert_one_line(io.err, prefix="warning: ")
    assert "3 frame(s)" in warning and "(12, 13, 14)" in warning
    assert "wrote 30 masks" in io.out
    masks = [read_mask(out / f"{i:05d}.png") for i in range(30)]
    assert all(labels.any() for labels in masks[:10])  # the good frames before the damage are kept


def test_cli_read_only_output(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    make_read_only: Callable[[Path], Path],
) -> None:  # fmt: skip
    parent = tmp_path / "locked"
    parent.mkdir()
    make_read_only(parent)
    out = parent / "out"
    assert run_cli(inputs["folder_with_non_images"], inputs["good_masks"], out) == 2
    assert "not writable" in assert_one_line(capsys.readouterr().err)
    assert list(parent.iterdir()) == []


def test_cli_disk_full(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    disk_full: Callable[[], None], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    write_mask(out / "00000.png", corpus.first_mask())  # a previous result: --overwrite replaces it
    disk_full()
    assert run_cli(inputs["folder_with_non_images"], inputs["good_masks"], out, "--overwrite") == 2
    assert "No space left on device" in assert_one_line(capsys.readouterr().err)
    monkeypatch.undo()
    assert not [p for p in out.iterdir() if ".tmp" in p.name]  # no temp file left behind
    assert not list(tmp_path.glob("out.partial-*")) and not list(tmp_path.glob("out.old-*"))
    # with space again, the same command with --resume completes the folder
    assert run_cli(inputs["folder_with_non_images"], inputs["good_masks"], out, "--resume") == 0
    names = sorted(p.name for p in out.iterdir() if p.name != propagate.MANIFEST_NAME)
    assert names == [f"{i:05d}.png" for i in range(6)]


# ---------------------------------------------------------------------------- weights
def learned_arch() -> tuple[str, str]:
    """(architecture, weights file name) of a trained architecture, or skip with the reason."""
    try:
        import vos_core.weights  # noqa: F401
        from vos_core.models.registry import arch_names, get_spec
    except ImportError as error:
        pytest.skip(f"vos_core.weights is not available yet ({error})")
    learned = {name: get_spec(name).weights for name in arch_names() if get_spec(name).weights}
    if not learned:
        pytest.skip("no registered architecture loads a weights file yet")
    name = "stcn" if "stcn" in learned else sorted(learned)[0]
    return name, str(learned[name])


def write_corrupt_weights(folder: Path, arch: str, filename: str, kind: str) -> Path:
    """``hash``: garbage that fails the card's hash; ``unreadable``: a truncated file whose card
    hash matches (so loading itself fails)."""
    from vos_core.weights import ModelCard, card_path, sha256_of

    folder.mkdir(exist_ok=True)
    path = folder / filename
    path.write_bytes(b"PK\x03\x04" + os.urandom(700))
    digest = "0" * 64 if kind == "hash" else sha256_of(path)
    card_path(path).write_text(ModelCard(arch=arch, sha256=digest).to_json())
    return folder


@pytest.mark.parametrize("kind", ["hash", "unreadable"])
def test_cli_corrupt_weights(
    kind: str, inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    arch, filename = learned_arch()
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(write_corrupt_weights(tmp_path / "w", arch, filename, kind)))
    out = tmp_path / "out"
    assert run_cli(inputs["folder_with_non_images"], inputs["good_masks"], out, "--arch", arch) == 2
    line = assert_one_line(capsys.readouterr().err)
    assert filename in line and ("hash" in line if kind == "hash" else "cannot be read" in line)
    assert_no_output(out)

