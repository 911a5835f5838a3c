"""``python -m vos_core.train``: see :mod:`vos_core.train.cli`."""

import sys

from vos_core.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
