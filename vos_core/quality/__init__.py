"""Per-frame and per-object mask quality: features of each predicted frame (``features``), a small
head regressing IoU from them (``head``) and its training (``collect``, ``train``)."""
