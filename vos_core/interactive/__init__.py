"""Interactive segmentation of a single frame (Qt-free): box-seeded GrabCut and the click-to-mask model."""
