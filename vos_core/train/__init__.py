"""Training of the architectures' heads (the ImageNet encoder stays frozen,
but for the last stride-16 blocks a model fine-tunes, ``tuned_blocks``).

``python -m vos_core.train --arch NAME --stage static|video ...`` (see :mod:`vos_core.train.cli`).
"""
