"""Tests for VideoFileSource / open_source on tiny synthetic videos written with PyAV."""

from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np
import pytest

from vos_core.data.frames import FolderSource, FrameSource, VideoFileSource, open_source
from vos_core.errors import VosInputError

WIDTH, HEIGHT, FPS = 64, 48, 10
BACKGROUND, SQUARE = (40, 40, 40), (220, 60, 30)
# container -> candidate codecs, best first (the first one this PyAV build has is used)
CONTAINERS = {
    "mp4": ("libx264", "mpeg4"),
    "mkv": ("libx264", "mpeg4"),
    "avi": ("mpeg4", "mjpeg"),
    "mov": ("libx264", "mpeg4"),
    "webm": ("libvpx-vp9", "libvpx"),
}


def _codec_for(ext: str) -> str:
    for codec in CONTAINERS[ext]:
        if codec in av.codecs_available:
            return codec
    pytest.skip(f"no encoder for .{ext} in this PyAV build")


def synthetic_frame(i: int) -> np.ndarray:
    """``H×W×3`` RGB frame ``i``: grey background, a 16×16 square moving 2 px right per frame."""
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[:] = BACKGROUND
    frame[16:32, 2 * i : 2 * i + 16] = SQUARE
    return frame


def make_video(path: Path, n_frames: int = 12, gop: int = 12) -> list[np.ndarray]:
    """Encode ``n_frames`` synthetic frames into ``path`` (codec chosen by extension)."""
    codec = _codec_for(path.suffix[1:])
    frames = [synthetic_frame(i) for i in range(n_frames)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.gop_size = gop
        if codec == "libx264":
            stream.options = {"bf": "2", "keyint_min": str(gop), "sc_threshold": "0"}
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return frames


@pytest.mark.parametrize("ext", sorted(CONTAINERS))
def test_round_trip(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"clip.{ext}"
    originals = make_video(path)
    with open_source(path) as source:
        assert isinstance(source, VideoFileSource)
        assert isinstance(source, FrameSource)
        assert source.name == "clip" and source.path == path
        assert len(source) == 12
        assert source.size == (HEIGHT, WIDTH)
        assert source.fps == pytest.approx(FPS)
        for i, original in enumerate(originals):
            frame = source.read(i)
            assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
            error = np.abs(frame.astype(int) - original.astype(int)).mean()
            assert error < 8, f"frame {i} differs by {error:.1f} on average"
            centre = frame[24, 2 * i + 8].astype(int)
            assert abs(centre - np.array(SQUARE)).max() < 40  # RGB order, not BGR
        assert source.read(-1).shape == (HEIGHT, WIDTH, 3)
        assert source.bad_frames == []
        with pytest.raises(IndexError):
            source.read(12)


@pytest.mark.parametrize("ext", sorted(CONTAINERS))
def test_random_reads_match_sequential(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"gop.{ext}"
    make_video(path, n_frames=24, gop=6)
    with VideoFileSource(path) as source:
        sequential = [source.read(i) for i in range(len(source))]
    order = list(range(24))
    random.Random(0).shuffle(order)
    with VideoFileSource(path, cache_size=1) as source:
        for i in order + [23, 0, 17, 16, 5]:
            np.testing.assert_array_equal(source.read(i), sequential[i], err_msg=f"frame {i}")


def test_returned_frames_are_copies(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"
    make_video(path)
    with VideoFileSource(path) as source:
        source.read(3)[:] = 0
        assert source.read(3).max() > 0


def test_missing_empty_and_fake_files(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="not found"):
        VideoFileSource(tmp_path / "missing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VosInputError, match="empty"):
        open_source(empty)
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(VosInputError, match="notes.mp4"):
        open_source(fake)


def test_file_without_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "audio.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = np.zeros((1, 800), np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(VosInputError, match="no video"):
        open_source(path)


def _read_everything(source: VideoFileSource) -> tuple[list[int], list[int]]:
    good, failed = [], []
    for i in range(len(source)):
        try:
            source.read(i)
            good.append(i)
        except VosInputError as error:
            assert f"Frame {i}" in str(error)
            failed.append(i)
    return good, failed


@pytest.mark.parametrize("ext", ["mp4", "mkv", "webm"])
def test_truncated_file_never_crashes(tmp_path: Path, ext: str) -> None:
    full = tmp_path / f"full.{ext}"
    make_video(full, n_frames=30, gop=10)
    cut = tmp_path / f"cut.{ext}"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    try:
        source = VideoFileSource(cut)
    except VosInputError as error:
        assert "cut." in str(error)
        return
    with source:
        assert 0 < len(source) <= 30
        good, failed = _read_everything(source)
        assert good and failed == source.bad_frames


def test_corrupt_packets_are_reported_as_bad_frames(tmp_path: Path) -> None:
    path = tmp_path / "broken.mkv"
    make_video(path, n_frames=30, gop=10)
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for pos, size in packets[12:15]:
        data[pos + 4 : pos + size] = rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with VideoFileSource(path) as source:
        assert len(source) == 30
        good, failed = _read_everything(source)
        assert set(range(10)) <= set(good)  # the first GOP is untouched
        assert failed and failed == source.bad_frames
        assert set(range(20, 30)) <= set(good)  # decoding recovers at the next keyframe
    with VideoFileSource(path, cache_size=1) as source:  # random access agrees
        for i in reversed(range(30)):
            if i in failed:
                with pytest.raises(VosInputError, match=f"Frame {i} "):
                    source.read(i)
            else:
                source.read(i)


def test_open_source_dispatch(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="not found"):
        open_source(tmp_path / "nothing")
    other = tmp_path / "movie.txt"
    other.write_text("x")
    with pytest.raises(VosInputError, match="Unsupported"):
        open_source(other)
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "0.png").write_bytes(b"")
    with pytest.raises(VosInputError):
        open_source(folder)  # unreadable image header
    from PIL import Image

    Image.fromarray(synthetic_frame(0)).save(folder / "0.png")
    with open_source(folder) as source:
        assert isinstance(source, FolderSource) and len(source) == 1
