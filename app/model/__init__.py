"""App model layer (Qt non-widget classes only): what the views code against.

Project on disk (``project.py``)
    ``Project.open_for(video_path, project_dir=None, *, source=None) -> Project`` creates or resumes
    ``<video_dir>/<stem>.vosproj/`` (``<folder>.vosproj`` for a frame folder): ``project.json``
    (schema ``version`` 1) + ``masks/%05d.png`` palette PNGs (+ ``pins/%05d.png``: the masks pinned
    predictions were pinned with), all written atomically, masks before
    the JSON. Raises ``ProjectError`` (newer version, bad fields, frame count / size mismatch).
    Corrupt masks are skipped and listed in ``project.problems``. Fields: ``directory``,
    ``video_path``, ``frame_count``, ``size`` (H, W), ``objects``, ``sources`` {frame: "user" |
    "propagated"}, ``current_frame``, ``settings`` (dict), ``confidence`` {frame: float}.

Masks (``mask_store.py``)
    ``MaskStore(project, cache_bytes=256 MB, autosave_ms=500)``: ``get(i) -> H×W uint8 | None``
    (read-only array: copy to edit), ``set(i, labels, source)``, ``clear(i)``, ``source(i)``,
    ``has_mask(i)``, ``frames()``, ``annotated_frames()``, ``propagated_frames()``,
    ``request_save()``, ``flush(timeout=None) -> bool``, ``pending``, ``all_saved``, ``close()``.
    Signals ``changed(int frame)``, ``problem(str)``, ``saved()``. Writes go to a background write
    batch (a ``Job`` of ``app.workers.worker``, one at a time) within ``autosave_ms`` (≤ 1 s).

Objects (``objects.py``, ``object_info.py``)
    ``ObjectInfo(id, name, colour "#rrggbb", visible=True)`` (frozen; ``ObjectInfo.new(id)`` gives
    the default name and DAVIS colour; ``.rgb``). ``ObjectListModel(QAbstractListModel)``:
    ``add(name=None, colour=None, object_id=None) -> ObjectInfo`` (next free id), ``insert``,
    ``ensure(id)``, ``remove(id)``, ``rename``, ``recolour``, ``set_visible``/``hide``/``show``,
    ``set_objects``, ``objects()``, ``ids()``, ``visible_ids()``, ``get(id)``, ``row_of(id)``,
    ``next_free_id()``, ``colour_table(visible_only)``; roles Display/Edit (name), Decoration
    (QColor), CheckState (visible), ``IdRole``, ``ColourRole``, ``VisibleRole``, ``InfoRole``;
    usual model signals plus ``objects_changed()``.

Undo (``undo.py``; ``QUndoCommand`` subclasses)
    ``MaskEditCommand(store, frame, before, after, text, *, before_source=<from store>,
    after_source="user")``, ``PropagationRunCommand(store, {frame: (before, after)} | None, text,
    *, applied=True)`` with ``record(frame, before, after)``, ``AddObjectCommand(model, info=None)``,
    ``RemoveObjectCommand(model, object_id, store=None)`` (erases its pixels when given the store),
    ``RenameObjectCommand(model, id, name)``, ``RecolourObjectCommand(model, id, colour)``.

Document (``document.py``)
    ``Document.open(path, project_dir=None) -> Document`` (raises ``VosError`` subclasses).
    Members: ``source``, ``project``, ``masks`` (= ``store``), ``objects``, ``undo_stack``,
    ``frame_count``, ``size``, ``fps``, ``name``, ``video_path``, ``frame(i) -> RGB`` (LRU),
    ``mask(i)``, ``current_frame`` (property) / ``set_current_frame(i)``, ``confidence``
    {frame: float}, ``memory_stats``, ``settings`` / ``set_settings(SessionConfig)``.
    Edits (undoable): ``edit_mask(frame, labels | None, text)``, ``clear_mask``, ``import_masks``,
    ``add_object``, ``remove_object``, ``rename_object``, ``recolour_object``.
    References: every user frame not marked otherwise is one (``is_reference``,
    ``reference_frames``, ``set_use_as_reference(frame, use)``); the engine is told of each change
    (``references.py``, ``ReferenceSync``).
    Corrections and reviews (``review.py``): ``user_edit(frame, labels, text)`` (a canvas edit: a
    correction makes a reference, a key edit or a tiny change a reviewed frame), ``mark_reviewed``,
    ``review_state(frame)`` ("corrected" | "reviewed" | "user" | "propagated" | None),
    ``reviewed_frames()`` (every frame a person checked: for exports), ``reviewed_only()``.
    Memory operations, each one undo step returning what it did (``document_memory.py``):
    ``set_pinned(frame, pinned)``, ``evict(frame, kind)``, ``reset_memory(keep_permanent)``,
    ``reseed(frame)`` (a reset to the references, then a run from the frame).
    Engine: ``attach_engine(client)`` (sends the references and pins) / ``detach_engine()``,
    ``propagate(start, end, direction)``, ``apply_result(FrameResult) -> bool``,
    ``begin_run(text)`` / ``end_run()``, ``set_memory_stats``, ``memory_mb`` {frame: MB}.
    ``save() -> bool``, ``close()``. Signals ``current_changed(int)``,
    ``confidence_changed(int frame | -1)``, ``memory_changed(object MemoryStats | None)``,
    ``references_changed(int)``, ``problem(str)``.

Engine and export workers live in ``app.workers`` (``EngineClient``, ``ExportWorker``,
``ImportWorker``).
"""

from app.model.document import Document
from app.model.mask_files import MaskSource
from app.model.mask_store import MaskStore
from app.model.object_info import ObjectInfo
from app.model.objects import ObjectListModel
from app.model.project import Project, default_project_dir
from app.model.settings import config_from_dict, config_to_dict
from app.model.undo import (
    AddObjectCommand,
    MaskEditCommand,
    PropagationRunCommand,
    RecolourObjectCommand,
    RemoveObjectCommand,
    RenameObjectCommand,
)

__all__ = [
    "AddObjectCommand",
    "Document",
    "MaskEditCommand",
    "MaskSource",
    "MaskStore",
    "ObjectInfo",
    "ObjectListModel",
    "Project",
    "PropagationRunCommand",
    "RecolourObjectCommand",
    "RemoveObjectCommand",
    "RenameObjectCommand",
    "config_from_dict",
    "config_to_dict",
    "default_project_dir",
]
