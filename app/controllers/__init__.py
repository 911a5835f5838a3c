"""Controllers: the logic between the views, the document and the engine.

``SessionController`` (``session_controller.py``)
    Opens and closes documents, starts the engine (``EngineClient``) on first use and sends it the
    user's commands (propagate, pause, stop, use as reference, reseed, pin, evict, reset); settings changes
    update the running session (``apply_settings``).
``DocumentPresenter`` (``presenter.py``)
    Shows the open document in the window's widgets and follows propagation.
``FileCommands`` (``file_commands.py``)
    The File menu: open (dialogs, recent files), import DAVIS masks, export.
``AppSettings`` (``settings.py``)
    User settings kept with QSettings, and the recent-files list.
"""
