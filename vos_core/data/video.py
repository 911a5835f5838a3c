"""Lazy, seekable video-file frame source built on PyAV (never loads the whole video)."""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vos_core.data.source_base import CachedSource, resize_frame
from vos_core.errors import VosInputError

# Forward gaps up to this many frames are decoded through rather than seeking.
_MAX_FORWARD_DECODE = 16
_DECODE_ERRORS = (av.FFmpegError, OSError, ValueError)


@dataclass(frozen=True)
class _PacketIndex:
    """What demuxing (without decoding) tells us about the video stream.

    ``pts``: presentation timestamps sorted (frame ``i`` has ``pts[i]``), ``by_pts`` maps them back
    (``None`` when timestamps are missing or duplicated: frames are then counted from the start),
    ``keyframes``: sorted presentation indices of keyframe packets.
    """

    pts: list[int]
    by_pts: dict[int, int] | None
    keyframes: list[int]


def _short(error: BaseException) -> str:
    """A one-line reason without PyAV's errno and file-name decorations."""
    reason = getattr(error, "strerror", None) or str(error)
    return reason.splitlines()[0].strip() if reason else type(error).__name__


class VideoFileSource(CachedSource):
    """Frames of a video file (mp4, mkv, avi, mov, webm), decoded on demand. Not thread-safe.

    Opening demuxes every packet once (no decoding) to count frames and find keyframes, then decodes
    the first frame to validate the file. ``read(i)`` continues the running decoder for forward
    reads and otherwise seeks to the nearest keyframe at or before ``i``. Frames that fail to decode
    are recorded in ``bad_frames`` as they are discovered; reading one raises ``VosInputError``.
    """

    def __init__(self, path: str | Path, cache_size: int = 8) -> None:
        super().__init__(Path(path), 0.0, cache_size)
        self.name = self.path.stem
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._last: int | None = None  # last index the running decoder produced (None = unanchored)
        self._index = _PacketIndex([], None, [0])
        if not self.path.is_file():
            raise VosInputError(f"Video file not found: {self.path}")
        if self.path.stat().st_size == 0:
            raise VosInputError(f"Video file {self.path} is empty (0 bytes)")
        try:
            self._open_container()
            self._index = self._scan()
            self._fps = self._guess_fps()
            self._size = self._first_good_size()
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- opening
    def _open_container(self) -> None:
        if self._container is not None:
            self._container.close()
        self._frames, self._last = None, None
        try:
            self._container = av.open(str(self.path), mode="r")
        except (*_DECODE_ERRORS, UnicodeDecodeError) as error:
            self._container = None
            raise VosInputError(
                f"Cannot open {self.path}: not a readable video file ({_short(error)})"
            ) from error
        if not self._container.streams.video:
            raise VosInputError(f"{self.path} contains no video stream")
        self._stream = self._container.streams.video[0]

    def _scan(self) -> _PacketIndex:
        assert self._container is not None
        entries: list[tuple[int | None, bool]] = []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0 or packet.is_discard:
                    continue
                stamp = packet.pts if packet.pts is not None else packet.dts
                entries.append((stamp, packet.is_keyframe))
        except _DECODE_ERRORS:
            pass  # truncated or corrupt tail: keep the packets read so far
        if not entries:
            raise VosInputError(f"{self.path} contains no video frames")
        stamps = [stamp for stamp, _ in entries]
        if any(stamp is None for stamp in stamps) or len(set(stamps)) != len(stamps):
            keyframes = sorted(i for i, (_, key) in enumerate(entries) if key)
            return _PacketIndex(list(range(len(entries))), None, keyframes or [0])
        pts = sorted(stamp for stamp in stamps if stamp is not None)
        by_pts = {stamp: index for index, stamp in enumerate(pts)}
        keyframes = sorted(by_pts[stamp] for stamp, key in entries if key and stamp is not None)
        return _PacketIndex(pts, by_pts, keyframes or [0])

    def _guess_fps(self) -> float:
        for rate in (self._stream.average_rate, self._stream.guessed_rate, self._stream.base_rate):
            if rate is not None and float(rate) > 0:
                return float(rate)
        return 25.0

    def _first_good_size(self) -> tuple[int, int]:
        self._open_container()
        self._last = -1
        self._frames = self._decode()
        for index, frame in self._frames:
            rgb = frame.to_ndarray(format="rgb24")
            self._cache.put(index, rgb)
            return rgb.shape[0], rgb.shape[1]
        raise VosInputError(f"{self.path} has no decodable video frames")

    # ----------------------------------------------------------------- public API
    def __len__(self) -> int:
        return len(self._index.pts)

    def read(self, i: int) -> np.ndarray:
        index, cached = self._cached(i)
        if cached is not None:
            return cached
        self._raise_if_bad(index)
        if self._container is None:
            raise VosInputError(f"{self.path} is closed")
        if not self._can_continue(index):
            self._seek_for(index)
        rgb = self._decode_until(index)
        if rgb is None and index not in self._bad:  # a seek overshot or produced nothing
            self._restart()
            rgb = self._decode_until(index)
        if rgb is None:
            self._bad.add(index)
            self._raise_if_bad(index)
        assert rgb is not None
        return rgb.copy()

    def close(self) -> None:
        self._frames = None
        self._cache.clear()
        if self._container is not None:
            with contextlib.suppress(*_DECODE_ERRORS):
                self._container.close()
            self._container = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return f"VideoFileSource({str(self.path)!r}, frames={len(self)}, fps={self._fps:.3f})"

    # ----------------------------------------------------------------- decoding
    def _raise_if_bad(self, index: int) -> None:
        if index in self._bad:
            raise VosInputError(f"Frame {index} of {self.path} could not be decoded (corrupt data)")

    def _can_continue(self, index: int) -> bool:
        if self._frames is None or self._last is None or index <= self._last:
            return False
        if index - self._last <= _MAX_FORWARD_DECODE or self._index.by_pts is None:
            return True
        keyframes = self._index.keyframes
        return bisect.bisect_right(keyframes, index) == bisect.bisect_right(keyframes, self._last)

    def _restart(self) -> None:
        """Reopen the file and decode from the very first packet (index anchored at -1)."""
        self._open_container()
        self._last = -1
        self._frames = self._decode()

    def _seek_for(self, index: int) -> None:
        keyframes = self._index.keyframes
        position = bisect.bisect_right(keyframes, index) - 1
        keyframe = keyframes[position] if position >= 0 else 0
        if keyframe == 0 or self._index.by_pts is None:
            self._restart()
            return
        assert self._container is not None
        try:
            self._container.seek(
                self._index.pts[keyframe], stream=self._stream, backward=True, any_frame=False
            )
        except _DECODE_ERRORS:
            self._restart()
            return
        self._last = None
        self._frames = self._decode()

    def _decode_until(self, index: int) -> np.ndarray | None:
        """Advance the running decoder to frame ``index``; ``None`` if it is missing or overshot."""
        assert self._frames is not None
        for produced, frame in self._frames:
            if produced < index - 2:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            if rgb.shape[:2] != self._size:
                rgb = resize_frame(rgb, self._size)
            self._cache.put(produced, rgb)
            if produced >= index:
                return rgb if produced == index else None
        return None

    def _frame_index(self, frame: av.VideoFrame) -> int | None:
        by_pts = self._index.by_pts
        if by_pts is not None and frame.pts is not None and frame.pts in by_pts:
            return by_pts[frame.pts]
        return None if self._last is None else self._last + 1

    def _packets(self) -> Iterator[av.Packet | None]:
        """Demuxed packets; ``None`` marks a demux error (treated as end of stream)."""
        assert self._container is not None
        try:
            yield from self._container.demux(self._stream)
        except _DECODE_ERRORS:
            yield None

    def _decode(self) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield ``(index, frame)`` in presentation order, recording undecodable frames as bad."""
        codec = self._stream.codec_context
        for packet in self._packets():
            try:
                frames = codec.decode(packet)  # None flushes the decoder
            except _DECODE_ERRORS:
                self._mark_packet_bad(packet)
                continue
            for frame in frames:
                index = self._frame_index(frame)
                if index is None or (self._last is not None and index <= self._last):
                    continue
                if self._last is not None:
                    self._bad.update(range(self._last + 1, index))
                self._last = index
                yield index, frame
            if packet is None:
                break
        if self._last is not None:  # reached the end: anything not produced is undecodable
            self._bad.update(range(self._last + 1, len(self)))
            self._last = len(self) - 1

    def _mark_packet_bad(self, packet: av.Packet | None) -> None:
        if packet is None:
            return
        by_pts = self._index.by_pts
        if by_pts is not None and packet.pts in by_pts:
            self._bad.add(by_pts[packet.pts])
        elif by_pts is None and self._last is not None:
            self._last += 1
            self._bad.add(self._last)
