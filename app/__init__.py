"""The desktop app. Importing it first installs :mod:`app.qt_fixes` (a Qt binding work-around)."""

from app.qt_fixes import install as _install_qt_fixes

_install_qt_fixes()
