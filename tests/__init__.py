"""The test suite. ``vos_core`` is imported first, before any test module or conftest loads torch, so
its OpenMP threads wait passively as everywhere else (``vos_core.threads.wait_passively``)."""

import vos_core  # noqa: F401
