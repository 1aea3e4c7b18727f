"""Errors of sending e-mail that a task retries."""


class TransientEmailError(Exception):
    """The mail server or the network may accept the message later.

    Its message (which Celery logs with each retry) names the error's type and codes only; `detail` has the
    server's answer, for the row.
    """

    def __init__(self, summary: str, detail: str = ""):
        super().__init__(summary)
        self.detail = detail or summary
