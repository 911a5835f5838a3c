"""The GUI event loop's largest gap while the engine learns from a mask, idle and beside one busy
CPU-bound process, from one run.

    QT_QPA_PLATFORM=offscreen python bench/bench_gui_gap.py [--davis ROOT] [--sequence lucia] [--cold]

The app's engine client (``EngineClient``, its own thread) opens a DAVIS sequence with the app's
default settings (``AppSettings().session_config()``), is given the first mask and asked to
propagate (after one warm-up, whose largest gap is printed apart: the process's first refit,
which also loads the model and, the first time a frame size is met, exports the encoder to ONNX
in a child process; ``--cold``: with an empty graph cache, so it does); a 5 ms timer in the GUI
thread records when it fires from the refit's announcement (``adapting``) to its last step
(``learning``), and the run is stopped then. The largest interval between two ticks is the
longest the GUI could not react. Then a CPU-bound process (``python -c "while True: pass"``) is
started and it is measured again with a new client. Each number is printed with the machine's
load averages.
Targets: <= 100 ms idle, <= 250 ms busy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import vos_core  # noqa: E402,F401 - first: sets OpenMP's wait policy before torch loads
from app.controllers.settings import AppSettings  # noqa: E402
from app.workers.engine_client import EngineClient  # noqa: E402
from vos_core.data.davis import DavisDataset  # noqa: E402

DEFAULT_DAVIS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "davis2016-train"
BUSY_CODE = "while True: pass"
TICK_MS = 5
LIMIT_S = 900.0


def load() -> str:
    """The machine's load averages (1, 5, 15 min): "idle" means only as quiet as these say."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _wait(app: QApplication, condition, limit_s: float = LIMIT_S) -> None:  # noqa: ANN001
    end = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the engine did not answer in time")
        app.processEvents()
        time.sleep(0.001)


def largest_gap(app: QApplication, dataset: DavisDataset, sequence: str) -> tuple[float, int, float]:
    """-> (largest GUI gap in seconds during one refit, ticks counted, the refit's seconds)."""
    client = EngineClient(AppSettings().session_config())
    ready: list[str] = []
    client.ready.connect(ready.append)
    client.open_video(str(dataset.image_root / sequence), AppSettings().session_config())
    _wait(app, lambda: bool(ready) or client.last_error is not None)
    if client.last_error:
        raise RuntimeError(client.last_error)
    client.set_reference(0, dataset.first_mask(sequence))
    ticks: list[float] = []
    state = {"learning": False, "done": False, "start": 0.0, "end": 0.0}

    def tick() -> None:
        if state["learning"]:
            ticks.append(time.perf_counter())

    def adapting(_masks: int) -> None:
        state["learning"], state["start"] = True, time.perf_counter()

    def learning(done: int, total: int, _left: float) -> None:
        if done == total and state["learning"]:
            state["learning"], state["end"] = False, time.perf_counter()
            client.stop()

    finished: list[bool] = []
    client.adapting.connect(adapting)
    client.learning.connect(learning)
    client.run_finished.connect(finished.append)
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    client.propagate(0, len(dataset.frames(sequence)) - 1)
    _wait(app, lambda: bool(finished))
    timer.stop()
    client.shutdown(60_000)
    gaps = [b - a for a, b in pairwise(ticks)]
    return (max(gaps) if gaps else float("nan")), len(ticks), state["end"] - state["start"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis", type=Path, default=DEFAULT_DAVIS)
    parser.add_argument("--sequence", default="lucia")
    parser.add_argument("--cold", action="store_true", help="start with an empty ONNX graph cache")
    args = parser.parse_args(argv)
    if not args.davis.is_dir():
        print(f"error: no DAVIS data at {args.davis}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    dataset = DavisDataset(args.davis)
    config = AppSettings().session_config()
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}  cores={os.cpu_count()}  arch={config.arch}  "
          f"engine threads={config.threads}  refit steps={config.adapt.steps}  {load()}", flush=True)
    kept_cache = os.environ.get("VOS_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="vos-bench-cache-") as empty:
        if args.cold:
            os.environ["VOS_CACHE_DIR"] = empty
        first, _, _ = largest_gap(app, dataset, args.sequence)  # warm-up: model load, ONNX export
    if args.cold:  # the graph stays in this process's sessions; later runs need no cache
        os.environ.pop("VOS_CACHE_DIR") if kept_cache is None else os.environ.update(VOS_CACHE_DIR=kept_cache)
    print(f"(first refit of the process{', ONNX export of the encoder included' if args.cold else ''}: "
          f"{first * 1000:.0f} ms)", flush=True)
    idle, n_idle, refit_idle = largest_gap(app, dataset, args.sequence)
    print(f"largest GUI gap during a refit, idle: {idle * 1000:.0f} ms  ({n_idle} ticks over "
          f"{refit_idle:.1f} s; target <= 100 ms; {load()})", flush=True)
    busy_process = subprocess.Popen([sys.executable, "-c", BUSY_CODE])
    try:
        time.sleep(0.5)
        busy, n_busy, refit_busy = largest_gap(app, dataset, args.sequence)
    finally:
        busy_process.kill()
        busy_process.wait()
    print(f"largest GUI gap during a refit, beside one busy process: {busy * 1000:.0f} ms  ({n_busy} "
          f"ticks over {refit_busy:.1f} s; target <= 250 ms; {load()})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
