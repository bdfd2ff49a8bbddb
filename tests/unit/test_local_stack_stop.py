"""The local stack stops within its grace period however stuck a part of it is (the CI run that
waited 60 s on a SIGTERM): `LocalStack.stop` shares one deadline among its parts and names the
ones that had not stopped, which `python -m chalicelib.local` then abandons."""

from __future__ import annotations

import threading

from chalicelib.local.stack import LocalStack


class StuckPoller(threading.Thread):
    """A poller whose handler never returns (a provider call that hangs)."""

    def __init__(self) -> None:
        super().__init__(name="poller-stuck", daemon=True)
        self.release = threading.Event()

    def run(self) -> None:
        self.release.wait()

    def stop(self) -> None:  # asked to stop, but busy in its handler
        pass


class Server:
    def __init__(self, hangs: bool) -> None:
        self.hangs, self.stopped, self.release = hangs, False, threading.Event()

    def stop(self) -> None:
        if self.hangs:
            self.release.wait()
        self.stopped = True


def test_stop_names_what_did_not_stop_and_still_stops_the_rest():
    poller, api, stripe, moto = StuckPoller(), Server(hangs=True), Server(hangs=False), Server(hangs=False)
    poller.start()
    stack = LocalStack(_threads=[poller], _api=api, _stripe=stripe, _moto=moto)
    try:
        assert stack.stop(grace_s=2) == ["poller-stuck", "api"]
        assert stripe.stopped and moto.stopped  # a stuck API server does not keep moto running
    finally:
        poller.release.set()
        api.release.set()


def test_stop_of_a_stack_that_stops_cleanly_reports_nothing():
    stack = LocalStack(_api=Server(hangs=False), _stripe=None, _moto=Server(hangs=False))
    assert stack.stop(grace_s=5) == []
