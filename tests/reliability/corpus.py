"""A corpus of bad (and borderline) inputs, generated small and fast into a folder.

Every builder writes one input under ``root`` and returns its path. Frames are ``H×W`` = 48×64 with
a red square moving right (object 1 of :func:`first_mask`), so the engine has something to follow.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vos_core.data.masks import davis_palette, write_mask

H, W = 48, 64


def frame(i: int) -> np.ndarray:
    """Blocky textured background with a red 16×16 square 2 px further right on every frame."""
    rng = np.random.default_rng(0)
    rgb = (rng.random((H // 4, W // 4, 3)) * 120 + 40).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    x = 4 + (2 * i) % (W - 24)
    rgb[16:32, x : x + 16] = (230, 40, 30)
    return rgb


def first_mask(hw: tuple[int, int] = (H, W)) -> np.ndarray:
    mask = np.zeros(hw, np.uint8)
    mask[16:32, 4:20] = 1
    return mask


def _codec() -> str:
    for codec in ("libx264", "mpeg4"):
        if codec in av.codecs_available:
            return codec
    raise RuntimeError("no H.264 or MPEG-4 encoder in this PyAV build")


def write_video(path: Path, frames: list[np.ndarray], gop: int = 10, fps: int = 10) -> Path:
    """Encode RGB frames (keyframe every ``gop`` frames) into ``path``; mp4 or mkv by suffix."""
    codec = _codec()
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = gop
        if codec == "libx264":
            stream.options = {"keyint_min": str(gop), "sc_threshold": "0", "preset": "ultrafast"}
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def good_video(root: Path, n: int = 12, name: str = "clip.mp4") -> Path:
    return write_video(root / name, [frame(i) for i in range(n)])


# ---------------------------------------------------------------------------- videos
def zero_byte_video(root: Path) -> Path:
    path = root / "zero.mp4"
    path.write_bytes(b"")
    return path


def text_named_mp4(root: Path) -> Path:
    path = root / "notes.mp4"
    path.write_text("These are meeting notes, not a video.\n" * 40)
    return path


def truncated_mp4(root: Path) -> Path:
    """The first 40% of an mp4 (the index, written last, is gone): unreadable."""
    full = good_video(root, 20, "full_for_mp4.mp4")
    path = root / "truncated.mp4"
    data = full.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 5])
    full.unlink()
    return path


def truncated_mkv(root: Path) -> Path:
    """The first 60% of an mkv: the frames before the cut are readable."""
    full = write_video(root / "full_for_mkv.mkv", [frame(i) for i in range(20)], gop=5)
    path = root / "truncated.mkv"
    data = full.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 5])
    full.unlink()
    return path


def midway_corrupt_video(root: Path, n: int = 30) -> Path:
    """An mkv whose packets 12..14 are overwritten with noise: frames in the 2nd GOP fail to decode,
    the others (first GOP, and from the keyframe at 20 on) are fine."""
    path = write_video(root / "midway.mkv", [frame(i) for i in range(n)], gop=10)
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for pos, size in packets[12:15]:
        data[pos + 4 : pos + size] = rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


# ---------------------------------------------------------------------------- frame folders
def mixed_size_folder(root: Path) -> Path:
    folder = root / "mixed_sizes"
    folder.mkdir()
    for i in range(5):
        rgb = frame(i) if i != 3 else np.zeros((H + 8, W, 3), np.uint8)
        Image.fromarray(rgb).save(folder / f"{i:05d}.png")
    return folder


def folder_with_non_images(root: Path, n: int = 6) -> Path:
    """Good frames plus files that are not images (ignored)."""
    folder = root / "with_junk"
    folder.mkdir()
    for i in range(n):
        Image.fromarray(frame(i)).save(folder / f"{i:05d}.jpg", quality=95)
    (folder / "notes.txt").write_text("shot list")
    (folder / "Thumbs.db").write_bytes(b"\x00" * 64)
    (folder / ".DS_Store").write_bytes(b"\x00" * 64)
    return folder


def folder_without_images(root: Path) -> Path:
    folder = root / "no_images"
    folder.mkdir()
    (folder / "readme.txt").write_text("frames go here")
    (folder / "data.csv").write_text("a,b\n1,2\n")
    return folder


def folder_with_fake_image(root: Path) -> Path:
    """Good frames and one ``.png`` that is really text: refused at open (naming the file)."""
    folder = root / "fake_image"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(frame(i)).save(folder / f"{i:05d}.png")
    (folder / "00004.png").write_text("not a png")
    return folder


# ---------------------------------------------------------------------------- masks
def _mask_folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    return folder


def wrong_size_mask(root: Path) -> Path:
    folder = _mask_folder(root, "masks_wrong_size")
    write_mask(folder / "00000.png", first_mask((H // 2, W // 2)))
    return folder


def rgb_palette_mask(root: Path) -> Path:
    """An RGB PNG painted with DAVIS palette colours (objects 1 and 2): read as exact labels."""
    folder = _mask_folder(root, "masks_rgb_palette")
    labels = first_mask()
    labels[0:8, 40:56] = 2
    Image.fromarray(davis_palette()[labels]).save(folder / "00000.png")
    return folder


def rgb_unknown_colours_mask(root: Path) -> Path:
    folder = _mask_folder(root, "masks_rgb_unknown")
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[16:32, 4:20] = (13, 77, 201)
    Image.fromarray(rgb).save(folder / "00000.png")
    return folder


def labels_over_255_mask(root: Path) -> Path:
    """A 16-bit grayscale label map with ids 1, 2 and 300 (more than a palette PNG can hold)."""
    folder = _mask_folder(root, "masks_over_255")
    labels = first_mask().astype(np.uint16)
    labels[0:8, 0:8] = 2
    labels[0:8, 40:56] = 300
    Image.fromarray(labels).save(folder / "00000.png")  # uint16 -> mode I;16
    return folder


def text_mask(root: Path) -> Path:
    folder = _mask_folder(root, "masks_text")
    (folder / "00000.png").write_text("not an image")
    return folder


def good_masks(root: Path) -> Path:
    folder = _mask_folder(root, "masks_good")
    write_mask(folder / "00000.png", first_mask())
    return folder


# ---------------------------------------------------------------------------- project files
def make_project_newer(json_path: Path) -> None:
    data = json.loads(json_path.read_text(encoding="utf-8"))
    data["version"] = int(data["version"]) + 1
    data["future_field"] = {"layers": []}
    json_path.write_text(json.dumps(data), encoding="utf-8")


def make_project_corrupt(json_path: Path) -> None:
    text = json_path.read_text(encoding="utf-8")
    json_path.write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-way


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes), to prove nothing was touched."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
