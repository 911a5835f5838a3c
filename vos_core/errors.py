"""Exceptions with messages meant for the user (CLI prints them on one line, the app in a dialog)."""


class VosError(Exception):
    """Base class: ``str(error)`` is a complete, user-facing, one-line message."""


class VosInputError(VosError):
    """A video, frame folder, mask or dataset that cannot be used as given."""


class WeightsError(VosError):
    """A weights file that is missing, corrupt, of another architecture, or fails its hash."""


class ProjectError(VosError):
    """A project folder or state file that cannot be loaded or written."""
