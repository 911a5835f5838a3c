"""Training of the architectures' heads (the ImageNet encoder stays frozen).

``python -m vos_core.train --arch NAME --stage static|video ...`` (see :mod:`vos_core.train.cli`).
"""
