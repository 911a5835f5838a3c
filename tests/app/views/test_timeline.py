"""Timeline: navigation, marks, click-to-mark, playback."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from app.views.timeline import Timeline, runs


def make(qtbot: object, count: int = 100, fps: float = 50.0) -> Timeline:
    timeline = Timeline()
    qtbot.addWidget(timeline)  # type: ignore[attr-defined]
    timeline.resize(800, 40)
    timeline.show()
    timeline.set_count(count, fps)
    return timeline


def test_runs() -> None:
    assert runs([5, 1, 2, 3, 9, 10]) == [(1, 3), (5, 5), (9, 10)]


def test_steps_home_end_and_spin_box(qtbot: object) -> None:
    timeline = make(qtbot)
    requested: list[int] = []
    timeline.frame_requested.connect(requested.append)
    timeline.step(1)
    timeline.step(10)
    timeline.step(-100)
    timeline.end()
    timeline.spin.setValue(42)
    assert requested == [1, 11, 0, 99, 42]
    assert timeline.slider.value() == 42 and timeline.total.text() == "/ 99"
    timeline.set_frame(7)  # from the document: no request
    assert requested[-1] == 42 and timeline.spin.value() == 7


def test_clicking_near_a_mark_jumps_to_it(qtbot: object) -> None:
    timeline = make(qtbot)
    timeline.set_marks(annotated=[30], propagated=range(30, 60), low=[71])
    requested: list[int] = []
    timeline.frame_requested.connect(requested.append)
    slider = timeline.slider
    for mark in (30, 71):
        x = slider.x_of(mark) + 3
        qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, slider.height() // 2))  # type: ignore[attr-defined]
        assert requested[-1] == mark
    far = slider.x_of(50)
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(far, slider.height() // 2))  # type: ignore[attr-defined]
    assert abs(requested[-1] - 50) <= 1
    assert slider.propagated == [(30, 59)] and slider.low_confidence == [71]


def test_reference_marks_and_their_menu(qtbot: object) -> None:
    from PySide6.QtGui import QColor

    from app.resources import MARK_ANNOTATED
    from app.views.timeline import MARK_NOT_REFERENCE

    timeline = make(qtbot)
    timeline.set_marks(annotated=[20, 60], propagated=(), low=(), references=[20])
    slider = timeline.slider
    assert slider.references == {20}
    image = slider.grab().toImage()
    mid = slider._groove().center().y()
    assert image.pixelColor(slider.x_of(20), mid - 12) == MARK_ANNOTATED  # solid triangle
    assert image.pixelColor(slider.x_of(60), mid - 13) == QColor(MARK_NOT_REFERENCE)  # hollow box
    assert image.pixelColor(slider.x_of(60), mid - 9) != QColor(MARK_NOT_REFERENCE)
    toggled: list[tuple[int, bool]] = []
    slider.reference_toggled.connect(lambda frame, use: toggled.append((frame, use)))
    assert slider.reference_menu(40) is None  # no user frame there
    for frame, expected in ((20, (20, False)), (60, (60, True))):
        menu = slider.reference_menu(frame)
        assert menu is not None
        action = menu.actions()[0]
        assert action.isChecked() == (frame == 20)
        action.trigger()
        assert toggled[-1] == expected
    timeline.set_marks(annotated=[5], propagated=(), low=())  # default: every user frame
    assert slider.references == {5}


def test_play_advances_and_stops_at_the_end(qtbot: object) -> None:
    timeline = make(qtbot, count=6, fps=100.0)
    requested: list[int] = []
    timeline.frame_requested.connect(requested.append)
    timeline.frame_requested.connect(timeline.set_frame)
    timeline.toggle_play()
    assert timeline.playing and timeline.play.isChecked()
    qtbot.waitUntil(lambda: not timeline.playing, timeout=5000)  # type: ignore[attr-defined]
    assert requested == [1, 2, 3, 4, 5] and not timeline.play.isChecked()


def test_empty_timeline_is_disabled(qtbot: object) -> None:
    timeline = make(qtbot, count=0)
    assert not timeline.isEnabled()
    timeline.toggle_play()
    assert not timeline.playing
