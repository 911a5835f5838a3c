"""Click-to-mask segmentation (Qt-free): a small head on the shared frozen Lite0 features.

- :mod:`.model`: :class:`ClickHead` (features + clicks + previous mask + box -> mask logits);
- :mod:`.predictor`: :class:`ClickSegmenter` (encode a frame once, one head run per click);
- :mod:`.simulate`: :class:`Click`, the protocol's :func:`next_click` and training click sampling;
- :mod:`.protocol`: the NoC protocol and the GrabCut baseline;
- :mod:`.data`, :mod:`.cache`, :mod:`.train`: training data, feature cache, training loop.
"""

from vos_core.interactive.clicks.predictor import ClickSegmenter, FrameEncoding
from vos_core.interactive.clicks.simulate import Click, next_click

__all__ = ["Click", "ClickSegmenter", "FrameEncoding", "next_click"]
