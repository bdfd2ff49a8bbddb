"""A signal the kernel hands to a thread other than the main one still runs its handler.

CPython runs Python signal handlers in the main thread only; when another thread receives the
signal, the main thread learns of it only when it returns to the interpreter loop. A main thread
parked in an untimed `Event.wait()` never does: the local stack once ignored a SIGTERM this way
(an e2e teardown timed out). The moto server process (and the stack, the same way) waits in
short slices; this test delivers SIGUSR1 to a side thread and expects the handler's answer.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import signal, threading, time, sys
from chalicelib.local import moto_server

def side():
    time.sleep(1.0)  # serve_forever has installed its handlers and printed its address by now
    signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # to this thread, not the main one

threading.Thread(target=side, daemon=True).start()
moto_server.serve_forever("127.0.0.1", 0)
"""


def test_a_signal_delivered_to_a_side_thread_runs_the_handler():
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(20, process.kill)  # no answer: the reads below end, the test fails
    watchdog.start()
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("moto listening on http://127.0.0.1:")
        stats = process.stdout.readline()  # SIGUSR1's answer: the lock's figures as JSON
        assert stats.startswith("{") and '"waited_s"' in stats
    finally:
        watchdog.cancel()
        process.kill()
        process.wait(timeout=10)
