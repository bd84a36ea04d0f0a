"""Child processes that die with their parent, however the parent died.

A SIGKILLed process cannot clean up, so its children must notice on their own. Two means,
both used by every process this package starts (edges and workers under ``serve``, chart
render processes):

* ``PR_SET_PDEATHSIG`` (Linux): the kernel sends a signal when the parent dies. It fires when
  the *thread* that started the child exits, so it is only armed when asked
  (``signal_on_death``) by processes started from their parent's main thread.
* a daemon thread that polls ``getppid()``: when the parent is gone the child is re-parented
  (to init or a subreaper), the parent id changes, and the process exits at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

log = logging.getLogger("catalyst_interactions.lifeline")

_PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.2


def _prctl_pdeathsig(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    return int(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0


def tie_to_parent(
    parent_pid: int, *, signal_on_death: int | None = None, exit_code: int = 1
) -> None:
    """Make this process exit when ``parent_pid`` stops being its parent.

    ``signal_on_death`` (for example SIGTERM, for a graceful stop) arms ``PR_SET_PDEATHSIG``
    as well; the watch thread then remains as the backstop, exiting without clean-up.
    """
    if signal_on_death is not None:
        _prctl_pdeathsig(signal_on_death)
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(exit_code)

    def watch() -> None:
        event = threading.Event()
        while not event.wait(WATCH_INTERVAL_S):
            if os.getppid() != parent_pid:
                if signal_on_death is not None:
                    # Give the graceful stop the signal started a moment to finish.
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(os.getpid(), signal_on_death)
                    event.wait(15.0)
                os._exit(exit_code)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def lower_priority(increment: int) -> None:
    """``os.nice``: the scheduler prefers the edge over this process when both want a core."""
    if increment <= 0:
        return
    try:
        os.nice(increment)
    except OSError:  # not permitted in some containers; a priority is a preference only
        log.warning("could not lower the process priority", extra={"nice": increment})


def default_signal(signum: int) -> None:
    signal.signal(signum, signal.SIG_DFL)
