"""Diagnose failing instance-set objects: per-click IoU, object size, and a picture (GT vs pred after 1/5/20)."""
import sys
import cv2, numpy as np, torch
from vos_core.interactive.clicks.instances import instance_samples
from vos_core.interactive.clicks.predictor import ClickSegmenter
from vos_core.interactive.clicks.protocol import ModelMethod, iou
from vos_core.interactive.clicks.simulate import next_click
torch.set_num_threads(1)
names = set(sys.argv[1].split(','))
import os
seg = ClickSegmenter.load()
seg.refine_radius = int(os.environ.get("RR", 5))
seg.refine_rel = float(os.environ.get("REL", 0))
import dataclasses
seg.zoom = dataclasses.replace(seg.zoom, early=int(os.environ.get("ZE", 0)))
seg.local = dataclasses.replace(seg.local, split_negative=bool(int(os.environ.get("SPLIT", 0))), drop_negative=bool(int(os.environ.get("DROP", 0))))
m = ModelMethod(seg)
for s in instance_samples('../shared/data/static', 60):
    if s.name not in names: continue
    ys, xs = np.nonzero(s.gt)
    m.start(s.image, s.gt); pred = np.zeros_like(s.gt); clicks = []; ious = []; snaps = {}
    for k in range(1, 21):
        c = next_click(pred, s.gt)
        if c is None: break
        clicks.append(c); pred = m.click(clicks); ious.append(iou(pred, s.gt))
        if k in (1, 5, 20): snaps[k] = pred.copy()
    print(s.name, s.image.shape[:2], 'obj h,w', np.ptp(ys)+1, np.ptp(xs)+1, 'area', s.gt.sum(),
          'ious', ' '.join(f'{v:.2f}' for v in ious), 'clicks', [(int(c.y), int(c.x), int(c.positive)) for c in clicks[:8]])
    y0, y1, x0, x1 = max(0, ys.min()-20), ys.max()+20, max(0, xs.min()-20), xs.max()+20
    tiles = []
    for k in (1, 5, 20):
        if k not in snaps: continue
        v = s.image.copy().astype(np.float32)
        v[snaps[k]] = 0.5 * v[snaps[k]] + [0, 127, 0]
        edge = cv2.morphologyEx(s.gt.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3)))
        v[edge > 0] = [255, 0, 0]
        if s.others is not None:
            e2 = cv2.morphologyEx(s.others.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3)))
            v[e2 > 0] = [0, 0, 255]
        t = v[y0:y1, x0:x1].astype(np.uint8)
        tiles.append(cv2.resize(t, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST))
    cv2.imwrite(f'/work/notes/s10/clicks/diag/{s.name.replace("#","_")}.png', cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))
