"""Tests of the command-line tools ``vos_core.propagate`` and ``vos_core.evaluate`` on tiny data."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vos_core import evaluate, propagate
from vos_core.data.masks import write_mask

REPO = Path(__file__).resolve().parents[2]
H, W, N = 48, 64, 10


def frame(i: int) -> np.ndarray:
    """Blocky textured background, a red/yellow box moving 2 px right per frame and, from frame 5 on,
    a static blue box (object 2 of the masks folder)."""
    rng = np.random.default_rng(0)
    f = (rng.random((H // 4, W // 4, 3)) * 120 + 40).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    x = 8 + 2 * i
    f[14:34, x : x + 20] = (230, 40, 30)
    f[20:28, x + 6 : x + 14] = (250, 220, 40)
    if i >= 5:
        f[0:12, 40:64] = (40, 60, 230)
        f[4:8, 46:58] = (240, 240, 240)
    return f


def first_mask() -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[14:34, 8:28] = 1
    return mask


pytestmark = pytest.mark.usefixtures("training_free_default")  # see tests/conftest.py


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_data")
    (root / "frames").mkdir()
    for i in range(N):
        Image.fromarray(frame(i)).save(root / "frames" / f"{i:05d}.png")
    write_mask(root / "mask.png", first_mask())
    codec = next((c for c in ("libx264", "mpeg4") if c in av.codecs_available), None)
    if codec is not None:
        with av.open(str(root / "clip.mp4"), "w") as container:
            stream = container.add_stream(codec, rate=10)
            stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
            for i in range(N):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame(i), format="rgb24")))
            container.mux(stream.encode())
    # masks folder: object 1 given on frame 2, object 2 appears on frame 5
    (root / "masks").mkdir()
    later = np.zeros((H, W), np.uint8)
    later[14:34, 18:38] = 1
    later[0:12, 40:64] = 2
    write_mask(root / "masks" / "00002.png", np.roll(first_mask(), 4, axis=1))
    write_mask(root / "masks" / "00005.png", later)
    (root / "empty").mkdir()
    (root / "zero.mp4").write_bytes(b"")
    (root / "junk.mp4").write_bytes(os.urandom(2048))
    (root / "notes.txt").write_text("not a video")
    write_mask(root / "small.png", np.ones((H // 2, W // 2), np.uint8))
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[10:20, 10:20] = (13, 77, 201)  # not a DAVIS palette colour
    Image.fromarray(rgb).save(root / "rgb_mask.png")
    (root / "a_file").write_text("x")
    return root


def mask_files(out: Path) -> list[Path]:
    """The masks in ``out``; besides them only the run's manifest (no temp file is left)."""
    files = sorted(p for p in out.iterdir() if p.name != propagate.MANIFEST_NAME)
    assert (out / propagate.MANIFEST_NAME).is_file()
    return files


def read_outputs(out: Path) -> list[np.ndarray]:
    files = mask_files(out)
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(N)]
    masks = []
    for f in files:
        with Image.open(f) as image:
            assert image.mode == "P" and image.size == (W, H)
            masks.append(np.array(image))
    return masks


def assert_one_error_line(err: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err


def no_partials(out: Path) -> bool:
    leftovers = [*out.parent.glob(f"{out.name}.partial-*"), *out.parent.glob(f"{out.name}.old-*")]
    return not leftovers


# ---------------------------------------------------------------------------- propagate: happy paths
def test_propagate_folder(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = propagate.main([str(data / "frames"), "--masks", str(data / "mask.png"), "--out", str(out),
                           "--threads", "1"])
    assert code == 0, capsys.readouterr().err
    masks = read_outputs(out)
    assert np.array_equal(masks[0], first_mask())
    for i, mask in enumerate(masks):
        assert np.count_nonzero(mask == 1) > 50, f"object lost on frame {i}"
    assert no_partials(out)


def test_propagate_masks_folder_backward_fill_and_late_object(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--quiet", str(data / "frames"), "--masks", str(data / "masks"), "--out", str(out)]
    assert propagate.main(args) == 0
    masks = read_outputs(out)
    given = np.array(Image.open(data / "masks" / "00005.png"))
    assert np.array_equal(masks[5], given)
    assert all(np.any(masks[i] == 1) for i in range(N))  # frames 0-1 filled backward
    assert not np.any(masks[3] == 2) and np.any(masks[6] == 2)


def test_propagate_backward_flag(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(data / "frames"), "--masks", str(data / "masks"), "--out", str(out), "--backward", "--quiet"]
    assert propagate.main(args) == 0
    assert len(read_outputs(out)) == N


def test_propagate_video_subprocess(data: Path, tmp_path: Path) -> None:
    if not (data / "clip.mp4").exists():
        pytest.skip("no mp4 encoder in this PyAV build")
    out = tmp_path / "video_out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "vos_core.propagate", str(data / "clip.mp4"),
           "--masks", str(data / "mask.png"), "--out", str(out), "--threads", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert np.count_nonzero(read_outputs(out)[-1] == 1) > 50
    # and a real process on bad input: exit 2, one line, nothing created
    bad = subprocess.run(cmd[:3] + [str(data / "zero.mp4")] + cmd[4:6] + ["--out", str(tmp_path / "bad")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert bad.returncode == 2
    assert_one_error_line(bad.stderr)
    assert not (tmp_path / "bad").exists() and no_partials(tmp_path / "bad")


def test_overwrite(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    args = [str(data / "frames"), "--masks", str(data / "mask.png"), "--out", str(out), "--quiet"]
    assert propagate.main(args) == 2
    assert_one_error_line(capsys.readouterr().err)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert propagate.main([*args, "--overwrite"]) == 0
    assert len(read_outputs(out)) == N and no_partials(out)


# ---------------------------------------------------------------------------- propagate: errors
ERROR_CASES = {
    "missing source": ["nope", "--masks", "mask.png"],
    "zero-byte video": ["zero.mp4", "--masks", "mask.png"],
    "corrupt video": ["junk.mp4", "--masks", "mask.png"],
    "not a video": ["notes.txt", "--masks", "mask.png"],
    "empty folder": ["empty", "--masks", "mask.png"],
    "missing mask": ["frames", "--masks", "nope.png"],
    "no masks in folder": ["frames", "--masks", "empty"],
    "mask size": ["frames", "--masks", "small.png"],
    "unknown colours": ["frames", "--masks", "rgb_mask.png"],
    "unknown arch": ["frames", "--masks", "mask.png", "--arch", "nosuch"],
    "bad option": ["frames", "--masks", "mask.png", "--process-height", "abc"],
    "unwritable out": ["frames", "--masks", "mask.png", "--out", "a_file/sub/out"],
    "out is a file": ["frames", "--masks", "mask.png", "--out", "a_file"],
    "missing weights": ["frames", "--masks", "mask.png", "--arch", "stcn"],  # weights/ hidden here
    "resume and overwrite": ["frames", "--masks", "mask.png", "--resume", "--overwrite"],
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_propagate_errors(case: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(data / a) if i in (0, 2) else a for i, a in enumerate(ERROR_CASES[case])]
    out = tmp_path / "out"
    if "--out" in args:
        j = args.index("--out") + 1
        args[j] = str(data / args[j])
        out = Path(args[j])
    else:
        args += ["--out", str(out)]
    before = sorted(p.name for p in data.iterdir())
    assert propagate.main(args) == 2
    assert_one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in data.iterdir()) == before
    assert (out.is_file() if case == "out is a file" else not out.exists()) and no_partials(out)


def interrupt_at_write(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Ctrl-C (KeyboardInterrupt) in the middle of the ``n``-th mask write: ``n - 1`` masks are done."""
    calls = []

    def interrupted(path: Path, labels: np.ndarray) -> None:
        calls.append(path)
        if len(calls) == n:
            raise KeyboardInterrupt
        write_mask(path, labels)

    monkeypatch.setattr(propagate, "write_mask", interrupted)


def file_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_ctrl_c_keeps_written_masks_and_resume_gives_the_same_files(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(data / "frames"), "--masks", str(data / "masks"), "--threads", "1", "--quiet"]
    whole = tmp_path / "whole"
    assert propagate.main([*args, "--out", str(whole)]) == 0
    out = tmp_path / "out"
    interrupt_at_write(monkeypatch, 5)
    assert propagate.main([*args, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: interrupted" in err and "--resume" in err
    kept = mask_files(out)
    assert len(kept) == 4  # the given frames 2 and 5, then frames 3 and 4 forward
    assert [p.name for p in kept] == ["00002.png", "00003.png", "00004.png", "00005.png"]
    for path in kept:
        assert path.read_bytes() == (whole / path.name).read_bytes()
    monkeypatch.setattr(propagate, "write_mask", write_mask)  # Ctrl-C no more
    assert propagate.main([*args, "--out", str(out)]) == 2  # an unfinished run is not redone silently
    assert "--resume" in capsys.readouterr().err
    assert propagate.main([*args, "--out", str(out), "--resume"]) == 0
    assert "wrote 6 masks" in capsys.readouterr().out
    assert file_bytes(out) == file_bytes(whole)  # masks and manifest, byte for byte
    assert no_partials(out)
    # resuming a complete run changes nothing
    assert propagate.main([*args, "--out", str(out), "--resume"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert file_bytes(out) == file_bytes(whole)


@pytest.mark.parametrize("change", ["masks", "source", "backward", "process height"])
def test_resume_refuses_another_run(change: str, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    args = [str(data / "frames"), "--masks", str(data / "masks"), "--out", str(tmp_path / "out"), "--quiet"]
    interrupt_at_write(monkeypatch, 4)
    assert propagate.main(args) == 130
    monkeypatch.setattr(propagate, "write_mask", write_mask)  # Ctrl-C no more
    before = file_bytes(tmp_path / "out")
    other = tmp_path / "other"
    if change == "source":
        other.mkdir()
        for i in range(N):
            Image.fromarray(np.roll(frame(i), 1, axis=0)).save(other / f"{i:05d}.png")
    changed = {
        "masks": [str(data / "frames"), "--masks", str(data / "mask.png"), *args[3:]],
        "source": [str(other), *args[1:]],
        "backward": [*args, "--backward"],
        "process height": [*args, "--process-height", "64"],
    }[change]
    capsys.readouterr()
    assert propagate.main([*changed, "--resume"]) == 2
    err = capsys.readouterr().err
    assert_one_error_line(err)
    field = {"masks": "masks", "source": "source", "backward": "backward", "process height": "process_height"}
    assert "cannot resume" in err and field[change] in err
    assert file_bytes(tmp_path / "out") == before  # nothing written, nothing removed


def test_resume_needs_a_run_of_this_tool(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = [str(data / "frames"), "--masks", str(data / "mask.png"), "--out", str(out), "--quiet"]
    assert propagate.main([*args, "--resume"]) == 2
    assert_one_error_line(capsys.readouterr().err)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    fresh = tmp_path / "fresh"  # nothing to resume: --resume simply runs
    assert propagate.main([*args[:-2], str(fresh), "--resume"]) == 0
    assert len(read_outputs(fresh)) == N


def test_internal_error(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(propagate, "InferenceSession", broken)
    out = tmp_path / "out"
    args = [str(data / "frames"), "--masks", str(data / "mask.png"), "--out", str(out)]
    assert propagate.main(args) == 1
    err = capsys.readouterr().err
    assert_one_error_line(err)
    assert "internal error: RuntimeError: boom" in err
    assert not out.exists() and no_partials(out)
    assert propagate.main([*args, "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


# ---------------------------------------------------------------------------- evaluate
@pytest.fixture(scope="module")
def davis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("davis")
    for seq, shift in (("box-a", 0), ("box-b", 1)):
        images, annotations = root / "JPEGImages" / "480p" / seq, root / "Annotations" / "480p" / seq
        images.mkdir(parents=True)
        annotations.mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.roll(frame(i), shift, axis=0)).save(images / f"{i:05d}.jpg", quality=95)
            gt = np.roll(np.roll(first_mask(), 2 * i, axis=1), shift, axis=0)
            write_mask(annotations / f"{i:05d}.png", gt)
    (root / "list.txt").write_text("# sequences\nbox-b\n")
    return root


def test_evaluate(davis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    args = ["--davis", str(davis), "--sequences", "box-a,box-b", "--out", str(out), "--quiet",
            "--threads", "1"]
    assert evaluate.main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"J&F \d\.\d{4}", lines[-1])
    assert re.fullmatch(r"quality-spearman (-?\d\.\d{4}|nan)", lines[-2])
    assert [line.split()[0] for line in lines[:-2]] == ["box-a", "box-b"]
    assert all(re.search(r"J=\d\.\d{4}  F=\d\.\d{4}  J&F=\d\.\d{4}  fps=", line) for line in lines[:-2])
    with open(out / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["sequence"] for r in rows] == ["box-a", "box-b"]
    assert {"J", "F", "J&F", "frames", "fps"} <= set(rows[0]) and rows[0]["frames"] == "6"
    assert float(lines[-1].split()[1]) == pytest.approx(np.mean([float(r["J&F"]) for r in rows]), abs=1e-4)
    assert all(0.2 < float(r["J"]) <= 1 and 0 <= float(r["F"]) <= 1 for r in rows)  # object tracked
    pngs = [f"{i:05d}.png" for i in range(6)]
    assert sorted(p.name for p in (out / "box-a").iterdir()) == [*pngs, "frames.csv"]
    assert no_partials(out)


def test_evaluate_sequence_file(davis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    assert evaluate.main(["--davis", str(davis), "--sequences", str(davis / "list.txt"), "--out", str(out),
                          "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("box-b ")
    assert sorted(p.name for p in out.iterdir()) == ["box-b", "scores.csv"]


def test_list_archs(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(["--list-archs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "propagation\tuntrained" in lines
    assert all(re.fullmatch(r"\S+\t(trained|untrained)", line) for line in lines)


@pytest.mark.parametrize("case", ["missing root", "unknown sequence", "missing out", "unknown arch"])
def test_evaluate_errors(case: str, davis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    args = {
        "missing root": ["--davis", str(tmp_path / "nope"), "--sequences", "box-a", "--out", str(out)],
        "unknown sequence": ["--davis", str(davis), "--sequences", "box-a,zebra", "--out", str(out)],
        "missing out": ["--davis", str(davis), "--sequences", "box-a"],
        "unknown arch": ["--davis", str(davis), "--out", str(out), "--arch", "nosuch"],
    }[case]
    assert evaluate.main(args) == 2
    assert_one_error_line(capsys.readouterr().err)
    assert not out.exists() and no_partials(out)
