"""Outside parts that misbehave on purpose: a slow mail server, a slow Stripe, a network path that swallows traffic,
and an operator whose calls are watched.

Each builds on the stand-in the other tests use (the aiosmtpd sink, the local Stripe API, the operator simulator),
so what the workers talk to is the same real protocol, only slower or stranger.
"""

import asyncio
import contextlib
import select
import socket
import threading
import time

from conftest import free_port
from ferries.operators.simulator import OperatorSimulator
from notifications.tests.smtp_sink import SmtpSink
from payments.tests.stripe_fake import FakeStripe


class SlowSmtpSink(SmtpSink):
    """Answers the first `slow` RCPT TO commands only after `delay` seconds, and says when one is waiting.

    The pause is before DATA, so a client killed during it never handed the message over: what a mail server
    already accepted cannot be taken back, and no client can close that window (it is SMTP's own).
    """

    def __init__(self, port: int, *, delay: float, slow: int = 1):
        super().__init__(port)
        self.delay = delay
        self.slow_left = slow
        self.stalled = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            slow, self.slow_left = self.slow_left > 0, max(self.slow_left - 1, 0)
        if slow:
            self.stalled.set()
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"


class SlowStripe(FakeStripe):
    """Stripe's API answered locally, where fetching a PaymentIntent can be slowed down or held back.

    - `stall(n, delay)`: the next `n` fetches answer after `delay` seconds; `stalled` is set when one waits.
    - `gate(n, timeout)`: fetches wait until `n` of them are waiting (or `timeout` passed), then all answer at
      once — so that the workers acting on them meet in the database at the same moment.
    """

    def __init__(self):
        super().__init__()
        self.stalled = threading.Event()
        self._stall_left = 0
        self._stall_delay = 0.0
        self._gate: threading.Barrier | None = None
        self.fetches = 0

    def stall(self, n: int, delay: float) -> None:
        self._stall_left, self._stall_delay = n, delay

    def gate(self, n: int, timeout: float) -> None:
        self._gate = threading.Barrier(n, timeout=timeout)

    def handle(self, method: str, path: str, form: dict, key: str | None) -> tuple[int, dict]:
        if method == "GET" and path.startswith("/v1/payment_intents/"):
            self._hold_back()
        return super().handle(method, path, form, key)

    def _hold_back(self) -> None:
        with self.lock:
            self.fetches += 1
            stall, self._stall_left = self._stall_left > 0, max(self._stall_left - 1, 0)
        if stall:
            self.stalled.set()
            time.sleep(self._stall_delay)
        if self._gate is not None:
            # Broken: fewer came than expected, or the gate already opened — answer now.
            with contextlib.suppress(threading.BrokenBarrierError):
                self._gate.wait()


class FaultyPath:
    """A TCP proxy in front of a server, standing for the network between the site and it.

    Modes: "pass" forwards both ways; "blackhole" accepts connections and swallows every byte without a word
    (a hung server, or a partition that drops packets: only a socket timeout ends the wait); "refuse" closes
    the listening socket and every connection (the server is down: connections are refused at once).
    """

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.mode = "pass"
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listen()

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def set_mode(self, mode: str) -> None:
        assert mode in {"pass", "blackhole", "refuse"}
        self.mode = mode
        if mode == "refuse":
            self._close_listener()
        elif self._listener is None:
            self._listen()
        # Streams cut in the middle of a command are out of step: clients must connect afresh.
        if mode != "blackhole":
            self._drop_connections()

    def close(self) -> None:
        self._close_listener()
        self._drop_connections()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _drop_connections(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # the listener was closed
            upstream = socket.create_connection(self.target) if self.mode == "pass" else None
            with self._lock:
                self._open.update(s for s in (client, upstream) if s)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket | None) -> None:
        peers = {client: upstream, upstream: client} if upstream else {client: None}
        try:
            while True:
                readable, _w, _x = select.select(list(peers), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if self.mode == "pass" and peers[sock] is not None:
                        peers[sock].sendall(data)
        except (OSError, ValueError):
            return  # closed under us by a change of mode


class WatchedSimulator(OperatorSimulator):
    """The operator simulator, telling when a confirmation is asked for (as it arrives, before its latency)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.confirming = threading.Event()
        self.confirmations_asked = 0
        self._counting = threading.Lock()

    def _handle(self, environ):
        with self._counting:
            if environ.get("PATH_INFO", "").endswith("/confirm"):
                self.confirmations_asked += 1
                self.confirming.set()
        return super()._handle(environ)
