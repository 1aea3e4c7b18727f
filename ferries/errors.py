"""Errors an operator, local or remote, can answer with."""


class OperatorError(Exception):
    """The operator could not answer (down, slow, malformed reply). Worth retrying later."""


class OperatorTimeout(OperatorError):
    """The operator did not answer in time: a remote one's request ran out of OPERATOR_TIMEOUT_SECONDS (to connect,
    or for its answer). Worth retrying later, as any OperatorError."""


class OperatorRefused(Exception):
    """The operator answered no.

    `code` is machine-readable — sold_out, not_offered, vehicle_too_tall, not_bookable, unknown_hold,
    hold_released, unknown_sailing — and `message` is for people.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
