"""A real SMTP server in the test process (aiosmtpd), recording what it accepts and answering as told."""

import email
import threading
from email.message import Message

from aiosmtpd.controller import Controller


class SmtpSink:
    """`refuse` holds the answers to give to the next messages instead of accepting them
    (e.g. "451 4.3.0 Try again later"); accepted messages are parsed into `messages`."""

    def __init__(self, port: int):
        self.messages: list[Message] = []
        self.refuse: list[str] = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse:
                return self.refuse.pop(0)
            self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def subjects(self) -> list[str]:
        return [subject for subject, _message in self.received()]

    def received(self) -> list[tuple[str, Message]]:
        """(decoded subject, message) of every message accepted."""
        with self.lock:
            return [(str(email.header.make_header(email.header.decode_header(m["Subject"]))), m) for m in self.messages]
