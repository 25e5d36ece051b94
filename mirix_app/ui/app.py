"""The desktop app: QApplication, one instance per data folder, window + tray + quick search."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget

from mirix_app.errors import MirixError
from mirix_app.paths import Paths
from mirix_app.ui import theme
from mirix_app.ui.consent import ConsentDialog
from mirix_app.ui.main_window import MainWindow, Snapshot
from mirix_app.ui.search_popup import QuickSearch
from mirix_app.ui.services import Services
from mirix_app.ui.single import SingleInstance, send_to_running, server_name
from mirix_app.ui.tray import Tray
from mirix_app.ui.workers import Runner, Task

log = logging.getLogger(__name__)


def claim_own_windows(*widgets: QWidget) -> None:
    """Tell capture which windows are ours, so it never records them (capture.windows.OWN_WINDOWS):
    this process, the app's window class (Qt names every window after the application name) and
    these widgets' native handles. Dialogs opened later are covered by the process and class."""
    try:
        from mirix_app.capture.windows import OWN_WINDOWS
    except ImportError:  # capture is not installed
        return
    OWN_WINDOWS.register(
        pid=os.getpid(),
        window_class=QCoreApplication.applicationName(),
        handles=[int(w.winId()) for w in widgets],
    )


class MirixApp(QObject):
    """Wires services, workers, the window, the tray and the quick-search popup together."""

    quitting = Signal()

    def __init__(self, services: Services, *, use_tray: bool = True) -> None:
        super().__init__()
        self.services = services
        self.runner = Runner(self, runtime=services.runtime)  # the services' runtime owns the pools
        self.window = MainWindow(services, self.runner)
        self.popup = QuickSearch(services, self.runner)
        self.tray = Tray(self)
        claim_own_windows(self.window, self.popup, self.tray.menu, self.tray.pause_menu)
        self.consent: ConsentDialog | None = None
        self.tray_shown = self.tray.show() if use_tray else False
        self.window.keep_running = self.tray_shown
        self._closed = False

        self.tray.quick_search.connect(self.quick_search)
        self.tray.open_window.connect(self.window.bring_forward)
        self.tray.quit_app.connect(self.quit)
        self.tray.pause.connect(self.pause)
        self.tray.resume.connect(self.resume)
        self.popup.chosen.connect(self.window.show_memory)
        self.window.settings.pause_requested.connect(self.pause)
        self.window.settings.resume_requested.connect(self.resume)
        self.window.close_to_tray.connect(self._closed_to_tray)
        self.window.status_changed.connect(self._status)
        for seq in ("Ctrl+K", "Ctrl+Shift+Space"):
            QShortcut(QKeySequence(seq), self.window, self.quick_search)
        QShortcut(QKeySequence.StandardKey.Quit, self.window, self.quit)

    # -- start -------------------------------------------------------------------------------
    def start(self, *, minimized: bool = False, ask_consent: bool = True) -> None:
        if not minimized or not self.tray_shown:
            self.window.show()
        self.startup_work()
        if self.services.consent_given():
            self.start_capture()
        elif ask_consent and self.services.capture_available:
            self.ask_consent()

    def startup_work(self) -> list[Task]:
        """Warm the embedder and the vector index (so the first search is fast) and load the
        model, in workers. Once all of it is in, what start-up made is frozen out of the garbage
        collector (gc.freeze): a full collection holds the GIL, and so the Qt thread, for as long
        as it scans (~60 ms over the app's start-up objects on a busy machine); afterwards it
        scans only what came later."""
        tasks = [self.runner.submit(self.services.warm_up, name="warm up", slow=True)]
        if self.services.chat_available:
            # The model loads on first use unless [runtime] eager_model (services.prepare_model).
            tasks.append(
                self.runner.submit(self.services.prepare_model, name="load model", slow=True)
            )
        left = [len(tasks)]

        def one_done(_: object = None) -> None:
            left[0] -= 1
            if left[0] == 0 and not self._closed:
                gc.freeze()
                log.debug("start-up done: %d objects frozen out of the GC", gc.get_freeze_count())
                # What waited in the inbox since the last run; later rows wake the agent.
                self.runner.submit(self.services.process_inbox, name="process inbox", slow=True)

        for t in tasks:
            t.on_done, t.on_error = one_done, one_done
        return tasks

    def ask_consent(self) -> ConsentDialog:
        dlg = ConsentDialog(self.services, self.window)
        dlg.accepted.connect(self._consented)
        dlg.rejected.connect(
            lambda: self.window.statusBar().showMessage(
                "Not capturing. Turn it on any time from the tray or Settings.", 8000
            )
        )
        self.consent = dlg
        dlg.open()
        return dlg

    def _consented(self) -> None:
        def work() -> bool:
            self.services.give_consent()
            return self.services.start_capture()

        self.runner.submit(
            work, name="start capture", slow=True, on_done=lambda _: self.window.refresh_status()
        )

    def start_capture(self) -> None:
        self.runner.submit(
            self.services.start_capture,
            name="start capture",
            slow=True,
            on_done=lambda _: self.window.refresh_status(),
            on_error=lambda e: self.window.statusBar().showMessage(
                f"Capture did not start: {e}", 10000
            ),
        )

    # -- actions -----------------------------------------------------------------------------
    def quick_search(self) -> None:
        self.popup.popup()

    def pause(self, minutes: int | None) -> None:
        self.runner.submit(
            self.services.pause,
            minutes,
            name="pause",
            on_done=lambda _: self.window.refresh_status(),
        )

    def resume(self) -> None:
        self.runner.submit(
            self.services.resume, name="resume", on_done=lambda _: self.window.refresh_status()
        )

    def answer_request(self, payload: str, reply: Callable[[str], None]) -> None:
        """`mirix ask` from a shell: answered in a worker, the reply written back on this thread."""
        try:
            request = json.loads(payload)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            reply(json.dumps({"error": "bad request"}))
            return
        self.runner.submit(
            self.services.ask,
            request,
            name="ask from the command line",
            on_done=lambda result: reply(json.dumps(result)),
            on_error=lambda e: reply(json.dumps({"error": type(e).__name__})),
        )

    def handle_message(self, message: str) -> None:
        """A second launch sent us `message` (show | quick-search)."""
        if message == "quick-search":
            self.quick_search()
        else:
            self.window.bring_forward()

    def _status(self, snap: Snapshot) -> None:
        cap = snap.capture
        self.tray.set_state(cap.state, cap.detail if cap.state == "error" else "")

    def _closed_to_tray(self) -> None:
        if not getattr(self, "_told", False):
            self._told = True
            self.tray.notify("mirix keeps running", "It is in the tray. Quit from the tray menu.")

    # -- quit --------------------------------------------------------------------------------
    def quit(self) -> None:
        self.shutdown()
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def shutdown(self) -> None:
        """Stop capture, cancel and wait for workers, close the store. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.quitting.emit()
        self.window._status_timer.stop()
        self.services.stop_capture()
        self.runner.shutdown()
        self.tray.hide()
        self.popup.hide()
        self.window.keep_running = False
        self.window.close()
        self.services.close()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mirix-app", description="mirix: your local memory")
    p.add_argument("--minimized", action="store_true", help="start in the tray")
    p.add_argument("--quick-search", action="store_true", help="open the quick-search popup")
    p.add_argument("--no-tray", action="store_true", help="no tray icon; closing the window quits")
    p.add_argument("--data-dir", help="keep all data here (same as MIRIX_HOME)")
    args, _unknown = p.parse_known_args(list(argv)[1:])
    return args


def run(argv: Sequence[str]) -> int:
    from mirix_app.__main__ import NO_DISPLAY_EXIT, no_display_message

    message = no_display_message()  # before QApplication, which aborts without a display
    if message is not None:
        print(message, file=sys.stderr)
        return NO_DISPLAY_EXIT
    args = parse_args(argv)
    if args.data_dir:
        from mirix_app.paths import set_home

        set_home(args.data_dir)
    paths = Paths.default().ensure()
    qapp = QApplication.instance() or QApplication(list(argv))
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("mirix")
    qapp.setOrganizationName("mirix")
    qapp.setQuitOnLastWindowClosed(False)
    name = server_name(paths)
    if send_to_running(name, "quick-search" if args.quick_search else "show"):
        log.info("mirix is already running: brought it forward")
        return 0
    single = SingleInstance(name)
    if not single.listen():
        log.warning("could not claim the single-instance socket %s", name)
    try:
        from mirix_app.logs import setup_logging

        setup_logging(paths)
    except Exception as e:  # logging must never stop the app
        log.warning("log file unavailable (%s): logging to stderr only", type(e).__name__)
    theme.apply(qapp)
    from mirix_app.ui.unlock import open_services, show_fatal

    try:
        opened = open_services(paths)
    except MirixError as e:
        show_fatal(e)
        return 1
    if opened is None:
        return 1
    services = opened
    app = MirixApp(services, use_tray=not args.no_tray)
    single.message.connect(app.handle_message)
    single.responder = app.answer_request
    if not app.tray_shown:
        qapp.setQuitOnLastWindowClosed(True)
    app.start(minimized=args.minimized)
    if args.quick_search:
        app.quick_search()
    qapp.aboutToQuit.connect(app.shutdown)
    # Ctrl+C / SIGTERM quit cleanly: Python handlers only run when the interpreter gets control.
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(300)
    code = int(qapp.exec())
    single.close()
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv))
