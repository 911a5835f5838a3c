"""Click-to-mask inference on one frame: encode once, then one cheap head run per click.

``ClickSegmenter.encode(frame)`` runs the shared frozen ImageNet encoder once (or wraps features
that propagation already computed, :meth:`FrameEncoding.from_features`); ``predict`` runs only the
click head. ``features(key, frame)`` keeps the encodings of the last few frames so that every click
on a frame reuses them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from vos_core.data.box import mask_box
from vos_core.errors import VosInputError, WeightsError
from vos_core.interactive.clicks.local import (
    LocalRefine,
    drop_negative_region,
    local_box,
    merge_near_click,
    seeded_regions,
    split_first_region,
    split_negative_region,
)
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.simulate import Click
from vos_core.interactive.clicks.zoom import DEFAULT_ZOOM, Box, ZoomIn, confine, crop_box, input_size
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.weights import ModelCard, load_weights, weights_dir

#: file name of the shipped click-head weights in ``weights/``
WEIGHTS_FILE = "clicks.pt"
#: default working height (frames taller than this are encoded scaled down)
WORK_HEIGHT = 480
#: default radius of the guided filter that snaps mask boundaries to image edges
REFINE_RADIUS = 5
#: default cap of that radius as a fraction of the mask's short bounding-box side (0: no cap).
#: Session 10, against no cap: held-out Penn-Fudan pedestrians (20-60 px wide) NoC@85/90 6.81/11.54
#: -> 5.25/9.36 (0.1: 5.64/10.99; radius 0: 5.79/9.96), ECSSD held-out 1.91/2.69 -> 1.84/2.69,
#: dev first frames unchanged (3.40/12.60)
REFINE_REL = 0.05
#: the click-local steps the shipped segmenter uses
DEFAULT_LOCAL = LocalRefine()


@dataclass(frozen=True)
class FrameEncoding:
    """One frame ready for clicks: ``rgb`` 1×3×H'×W' (the frame at the working size, float in
    [0, 255]), its encoder features ``feats``, the original ``frame_hw`` and, when kept, the
    original ``frame`` (H×W×3 uint8: zoom-in crops come from it, else from ``rgb``)."""

    feats: EncoderFeatures
    rgb: torch.Tensor
    frame_hw: tuple[int, int]
    frame: np.ndarray | None = None

    @property
    def work_hw(self) -> tuple[int, int]:
        return int(self.rgb.shape[2]), int(self.rgb.shape[3])

    @staticmethod
    def from_features(
        feats: EncoderFeatures, work_image: np.ndarray, frame_hw: tuple[int, int]
    ) -> FrameEncoding:
        """Wrap features computed elsewhere (e.g. by propagation) from ``work_image`` (H'×W'×3 uint8,
        the frame resized as the features were computed) for a frame of ``frame_hw``."""
        rgb = torch.from_numpy(np.ascontiguousarray(work_image)).permute(2, 0, 1)[None].float()
        return FrameEncoding(feats, rgb, (int(frame_hw[0]), int(frame_hw[1])))


def working_size(hw: tuple[int, int], height: int) -> tuple[int, int]:
    """Frame (H, W) -> working (H', W') with H' = min(H, height), aspect kept, both multiples of 16."""
    h, w = hw
    s = min(1.0, height / h)
    return max(16, int(round(h * s / 16)) * 16), max(16, int(round(w * s / 16)) * 16)


def frame_image(enc: FrameEncoding) -> np.ndarray:
    """The frame of an encoding (H×W×3 uint8): the kept original, else the working image resized."""
    if enc.frame is not None:
        return enc.frame
    work = enc.rgb[0].permute(1, 2, 0).numpy().astype(np.uint8)
    if enc.work_hw == enc.frame_hw:
        return work
    return cv2.resize(work, (enc.frame_hw[1], enc.frame_hw[0]), interpolation=cv2.INTER_LINEAR)


def edge_refine(prob: np.ndarray, frame: np.ndarray, radius: int = 5, eps: float = 1e-3) -> np.ndarray:
    """Guided filter (He et al.) of an H×W probability map with the frame's grey levels as guide:
    the coarse (stride-4) mask boundary snaps to the image edges. Returns H×W float32."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    p = prob.astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size)

    mean_i, mean_p = box(grey), box(p)
    a = (box(grey * p) - mean_i * mean_p) / (box(grey * grey) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return np.clip(box(a) * grey + box(b), 0.0, 1.0)


class ClickSegmenter:
    """The click head plus the frozen encoder: frame + clicks (+ previous mask, box) -> mask."""

    def __init__(
        self,
        head: ClickHead,
        encoder: FrozenEncoder,
        work_height: int = WORK_HEIGHT,
        cache_frames: int = 4,
        refine_radius: int = REFINE_RADIUS,
        refine_rel: float = REFINE_REL,
        zoom: ZoomIn | None = DEFAULT_ZOOM,
        local: LocalRefine | None = DEFAULT_LOCAL,
    ) -> None:
        self.head = head.eval()
        self.encoder = encoder
        self.work_height = work_height
        #: radius of the edge-snapping guided filter in :meth:`to_mask` (0 = off)
        self.refine_radius = refine_radius
        #: when > 0, that radius is at most this fraction of the mask's short bounding-box side (at
        #: least 1): on a pedestrian 20 px wide, a 5 px filter smooths legs and arms away
        self.refine_rel = refine_rel
        self._cache: OrderedDict[Hashable, FrameEncoding] = OrderedDict()
        self._cache_frames = cache_frames
        #: zoom-in after the first clicks (:mod:`.zoom`); None: every click on the whole frame
        self.zoom = zoom
        self._zoom_last: tuple[FrameEncoding, Box, FrameEncoding] | None = None
        #: click-local merge and re-run after the first clicks (:mod:`.local`); None: off
        self.local = local

    @staticmethod
    def load(
        path: str | Path | None = None,
        encoder: FrozenEncoder | None = None,
        work_height: int | None = None,
        threads: int = 1,
    ) -> ClickSegmenter:
        """The shipped model (``weights/clicks.pt``, strict keys, hash-checked); WeightsError when
        the file is missing or corrupt. The card's ``process_height`` is the default working height."""
        path = Path(path) if path is not None else weights_dir() / WEIGHTS_FILE
        if not path.is_file():
            raise WeightsError(f"click model weights {path} not found")
        head = ClickHead()
        card: ModelCard = load_weights(head, path)
        if encoder is None:
            from vos_core.models.registry import pretrained_lite0

            encoder = FrozenEncoder(pretrained_lite0(), threads=threads)
        return ClickSegmenter(head, encoder, work_height or card.process_height or WORK_HEIGHT)

    def to_mask(self, prob: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray:
        """H×W probability (from :meth:`predict`) -> H×W bool mask; with the frame (H×W×3 RGB) and
        ``refine_radius`` > 0 the boundary is first snapped to image edges (:func:`edge_refine`,
        radius :meth:`refine_radius_for`)."""
        radius = self.refine_radius_for(prob)
        if frame is not None and radius > 0:
            prob = edge_refine(prob, frame, radius)
        return prob > 0.5

    def refine_radius_for(self, prob: np.ndarray) -> int:
        """The guided filter's radius for an H×W probability map: :attr:`refine_radius`, capped at
        :attr:`refine_rel` times the short side of the bounding box of ``prob`` > 0.5 (at least 1)."""
        if self.refine_radius <= 0 or self.refine_rel <= 0:
            return self.refine_radius
        box = mask_box(prob > 0.5)
        if box is None:
            return self.refine_radius
        short = min(box[2] - box[0], box[3] - box[1])
        return max(1, min(self.refine_radius, int(round(self.refine_rel * short))))

    def encode(self, frame: np.ndarray) -> FrameEncoding:
        """H×W×3 uint8 RGB -> its features at the working size (the one encoder run per frame)."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise VosInputError(f"frame must be H×W×3 RGB, got shape {frame.shape}")
        frame_hw = (int(frame.shape[0]), int(frame.shape[1]))
        work = working_size(frame_hw, self.work_height)
        original = frame
        if work != frame_hw:
            method = cv2.INTER_AREA if work[0] < frame_hw[0] else cv2.INTER_LINEAR
            frame = cv2.resize(frame, (work[1], work[0]), interpolation=method)
        rgb = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
        return FrameEncoding(self.encoder(rgb), rgb, frame_hw, original)

    def features(self, key: Hashable, frame: np.ndarray) -> FrameEncoding:
        """The encoding of ``frame`` cached under ``key`` (e.g. the frame index): computed once."""
        hit = self._cache.get(key)
        if hit is not None and hit.frame_hw == frame.shape[:2]:
            self._cache.move_to_end(key)
            return hit
        enc = self.encode(frame)
        self._cache[key] = enc
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return enc

    def predict(
        self,
        enc: FrameEncoding,
        clicks: Sequence[Click],
        prev_mask: np.ndarray | None = None,
        box: Box | None = None,
    ) -> np.ndarray:
        """Clicks (frame pixels), optional previous mask (H×W bool or probabilities) and box ->
        H×W float32 object probability at the frame size. With :attr:`zoom` set, clicks after the
        first ``zoom.skip_clicks`` run on a crop around the mask and the clicks (:mod:`.zoom`),
        encoded at ``zoom.size``; the rest of the frame keeps the previous mask (with ``zoom.early``, the
        first clicks run again on the crop around their whole-frame prediction). With :attr:`local`
        set, clicks after the first ``local.skip_clicks`` then keep only the changes connected to
        the new click and re-run on a small square around it, and, when switched on, a negative click
        drops the region under it and only regions holding a positive click are kept (:mod:`.local`)."""
        fh, fw = enc.frame_hw
        if prev_mask is not None and prev_mask.shape != (fh, fw):
            raise VosInputError(f"previous mask is {prev_mask.shape}, the frame {(fh, fw)}")
        if self._local_only(clicks, prev_mask):
            assert prev_mask is not None
            prob = self._local_step(enc, clicks, prev_mask, box, prev_mask.astype(np.float32))
            return self._region_rules(enc, clicks, prev_mask, prob)
        region = self._zoom_region(enc, clicks, prev_mask)
        if region is None:
            prob = self._run(enc.feats, enc.rgb, (0, 0, fh, fw), clicks, prev_mask, box)
            if self.zoom is not None and len(clicks) <= min(self.zoom.early, self.zoom.skip_clicks):
                prob = self._region_rules(enc, clicks, prev_mask, prob)
                early = self._crop_region(enc, clicks, prob, self.zoom.early_gain)
                if early is not None:
                    second = self._zoomed(enc, early, clicks, prob, box)
                    prob = confine(prob, second, self.zoom.early_band) if self.zoom.early_band else second
        else:
            prev = np.zeros((fh, fw), np.float32) if prev_mask is None else prev_mask.astype(np.float32)
            prob = self._zoomed(enc, region, clicks, prev, box)
        prob = self._local_step(enc, clicks, prev_mask, box, prob)
        return self._region_rules(enc, clicks, prev_mask, prob)

    def _zoomed(
        self, enc: FrameEncoding, region: Box, clicks: Sequence[Click], prev: np.ndarray, box: Box | None
    ) -> np.ndarray:
        """``prev`` (H×W float32, the previous mask) with the head's prediction on the zoom crop
        ``region`` (and ``prev`` as its previous mask) pasted in."""
        y0, x0, y1, x1 = region
        view = self._zoom_encoding(enc, region)
        out = np.array(prev, np.float32)
        out[y0:y1, x0:x1] = self._run(view.feats, view.rgb, region, clicks, prev, box)
        return out

    def _region_rules(
        self, enc: FrameEncoding, clicks: Sequence[Click], prev_mask: np.ndarray | None, prob: np.ndarray
    ) -> np.ndarray:
        """The whole-region rules of :class:`LocalRefine` (``drop_negative``, ``split_negative``,
        ``seeded``, ``split_first``) on ``prob``."""
        cfg = self.local
        if cfg is None:
            return prob
        if cfg.drop_negative and prev_mask is not None:
            prev = prev_mask.astype(np.float32)
            prob = drop_negative_region(prev, prob, list(clicks), cfg.touch, cfg.bridge)
        if cfg.split_negative and prev_mask is not None:
            prev = prev_mask.astype(np.float32)
            prob = split_negative_region(prev, prob, frame_image(enc), list(clicks), cfg.touch, cfg.bridge)
        if cfg.seeded and (cfg.seeded_clicks == 0 or len(clicks) <= cfg.seeded_clicks):
            prob = seeded_regions(prob, list(clicks), cfg.touch, cfg.bridge, cfg.fragment)
        if cfg.split_first and len(clicks) == 1:
            prob = split_first_region(prob, frame_image(enc), clicks[0], cfg)
        return prob

    def _local_only(self, clicks: Sequence[Click], prev_mask: np.ndarray | None) -> bool:
        cfg = self.local
        return (
            cfg is not None
            and not cfg.global_run
            and cfg.size > 0
            and prev_mask is not None
            and len(clicks) > cfg.skip_clicks
        )

    def _local_step(
        self,
        enc: FrameEncoding,
        clicks: Sequence[Click],
        prev_mask: np.ndarray | None,
        box: Box | None,
        prob: np.ndarray,
    ) -> np.ndarray:
        """The click-local steps (:mod:`.local`) on the prediction ``prob`` (H×W) of the last click."""
        cfg = self.local
        if cfg is None or prev_mask is None or len(clicks) <= cfg.skip_clicks:
            return prob
        click = clicks[-1]
        if cfg.merge and cfg.global_run:
            prob = merge_near_click(prev_mask.astype(np.float32), prob, click, cfg.touch)
        if cfg.size:
            focus = (prob > 0.5) != (prev_mask > 0.5) if cfg.global_run else None
            region = local_box(prob, click, enc.frame_hw, cfg, focus)
            y0, x0, y1, x1 = region
            view = self._crop_encoding(enc, region, (cfg.size, cfg.size))
            prob = np.array(prob, np.float32)
            prob[y0:y1, x0:x1] = self._run(view.feats, view.rgb, region, clicks, prob, box)
        return prob

    def _zoom_region(
        self, enc: FrameEncoding, clicks: Sequence[Click], prev_mask: np.ndarray | None
    ) -> Box | None:
        """The zoom crop (frame pixels) for this click, or None to use the whole frame."""
        if self.zoom is None or len(clicks) <= self.zoom.skip_clicks:
            return None
        return self._crop_region(enc, clicks, prev_mask)

    def _crop_region(
        self,
        enc: FrameEncoding,
        clicks: Sequence[Click],
        prev_mask: np.ndarray | None,
        min_gain: float | None = None,
    ) -> Box | None:
        """The zoom crop around ``prev_mask`` and the positive clicks, or None when zooming would
        not enlarge it by ``min_gain`` (default ``zoom.min_gain``)."""
        assert self.zoom is not None
        region = crop_box(prev_mask, clicks, enc.frame_hw, self.zoom)
        if region is None:
            return None
        y0, x0, y1, x1 = region
        in_h, in_w = input_size(region, self.zoom.size)
        gain = min(in_h / (y1 - y0), in_w / (x1 - x0)) * enc.frame_hw[0] / enc.work_hw[0]
        return region if gain >= (self.zoom.min_gain if min_gain is None else min_gain) else None

    def _zoom_encoding(self, enc: FrameEncoding, region: Box) -> FrameEncoding:
        """The crop ``region`` of the frame at its zoom input size, encoded (the last one is kept:
        a click that leaves the crop as it was runs no encoder)."""
        assert self.zoom is not None
        last = self._zoom_last
        if last is not None and last[0] is enc and last[1] == region:
            return last[2]
        view = self._crop_encoding(enc, region, input_size(region, self.zoom.size))
        self._zoom_last = (enc, region, view)
        return view

    def _crop_encoding(self, enc: FrameEncoding, region: Box, in_hw: tuple[int, int]) -> FrameEncoding:
        """The crop ``region`` of the frame (frame pixels) resized to ``in_hw`` and encoded."""
        y0, x0, y1, x1 = region
        in_h, in_w = in_hw
        if enc.frame is not None:
            crop = enc.frame[y0:y1, x0:x1]
        else:  # only the working-size image: crop it where the region falls
            sy, sx = enc.work_hw[0] / enc.frame_hw[0], enc.work_hw[1] / enc.frame_hw[1]
            work = enc.rgb[0].permute(1, 2, 0).numpy()
            crop = work[int(y0 * sy) : max(int(y0 * sy) + 1, int(round(y1 * sy))),
                        int(x0 * sx) : max(int(x0 * sx) + 1, int(round(x1 * sx)))]  # fmt: skip
        method = cv2.INTER_AREA if in_h < crop.shape[0] else cv2.INTER_LINEAR
        crop = cv2.resize(np.ascontiguousarray(crop), (in_w, in_h), interpolation=method)
        rgb = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float()
        return FrameEncoding(self.encoder(rgb), rgb, (y1 - y0, x1 - x0))

    def _run(
        self,
        feats: EncoderFeatures,
        rgb: torch.Tensor,
        region: Box,
        clicks: Sequence[Click],
        prev_mask: np.ndarray | None,
        box: Box | None,
    ) -> np.ndarray:
        """One head run on a view: ``rgb`` 1×3×h×w (and its ``feats``) shows ``region`` of the frame
        (frame pixels). Clicks inside the region, the previous mask and the box are mapped into the
        view -> probability at the region's size (H_r×W_r float32)."""
        ry0, rx0, ry1, rx1 = region
        rh, rw = ry1 - ry0, rx1 - rx0
        wh, ww = int(rgb.shape[2]), int(rgb.shape[3])
        sy, sx = wh / rh, ww / rw
        inside = [c for c in clicks if ry0 <= c.y < ry1 and rx0 <= c.x < rx1]
        points = torch.zeros(1, len(inside), 3)
        for j, c in enumerate(inside):
            points[0, j] = torch.tensor(
                [(c.y - ry0 + 0.5) * sy - 0.5, (c.x - rx0 + 0.5) * sx - 0.5, 1.0 if c.positive else -1.0]
            )
        prev = np.zeros((wh, ww), np.float32)
        if prev_mask is not None:
            part = prev_mask[ry0:ry1, rx0:rx1].astype(np.float32)
            prev = cv2.resize(part, (ww, wh), interpolation=cv2.INTER_LINEAR)
        boxmap = np.zeros((wh, ww), np.float32)
        if box is not None:
            y0, x0 = max(0, int((box[0] - ry0) * sy)), max(0, int((box[1] - rx0) * sx))
            y1, x1 = int(round((box[2] - ry0) * sy)), int(round((box[3] - rx0) * sx))
            if y1 > 0 and x1 > 0:
                boxmap[y0 : max(y0 + 1, y1), x0 : max(x0 + 1, x1)] = 1.0
        with torch.inference_mode():
            logits = self.head(
                feats, points, torch.from_numpy(prev)[None, None], torch.from_numpy(boxmap)[None, None], rgb
            ).fine
        prob = torch.sigmoid(logits[0, 0]).numpy()
        if (wh, ww) != (rh, rw):
            prob = cv2.resize(prob, (rw, rh), interpolation=cv2.INTER_LINEAR)
        return prob
