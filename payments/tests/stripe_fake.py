"""Stripe's HTTP API, answered locally for tests: the real `stripe` SDK talks to it over a socket.

It keeps PaymentIntents, Refunds and Disputes in memory, replays answers for a repeated Idempotency-Key as
Stripe does, and can drop the connection after doing the work (`drop_next`), which is how a lost
answer looks to the SDK. `dashboard_refund` and `open_dispute` play what happens at Stripe without us.
"""

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class FakeStripe:
    def __init__(self):
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.replies: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.drop_next = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "FakeStripe":
        # shutdown() waits for the loop's next look at its socket: every 0.5 s by default, after every test.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set_status(self, intent_id: str, status: str, error: str = "") -> dict:
        """What the traveller's card did at Stripe."""
        intent = self.intents[intent_id]
        intent["status"] = status
        intent["last_payment_error"] = {"message": error} if error else None
        intent["amount_received"] = intent["amount"] if status == "succeeded" else 0
        return intent

    def dashboard_refund(self, intent_id: str, amount: int, status: str = "succeeded") -> dict:
        """Staff refund part of a payment in Stripe's dashboard: a refund without our metadata."""
        with self.lock:
            return self._new_refund(self.intents[intent_id], amount, {}, status)

    def open_dispute(self, intent_id: str, *, amount: int | None = None, status: str = "needs_response") -> dict:
        """The cardholder's bank disputes the payment."""
        intent = self.intents[intent_id]
        dispute_id = "dp_" + secrets.token_hex(12)
        self.disputes[dispute_id] = {
            "id": dispute_id, "object": "dispute", "amount": amount or intent["amount"],
            "currency": intent["currency"], "reason": "fraudulent", "status": status,
            "payment_intent": intent_id, "charge": "ch_" + secrets.token_hex(12),
            "evidence_details": {"due_by": int(time.time()) + 7 * 86400},
        }  # fmt: skip
        return self.disputes[dispute_id]

    def _new_refund(self, intent: dict, amount: int, metadata: dict, status: str = "succeeded") -> dict:
        refund_id = "re_" + secrets.token_hex(12)
        self.refunds[refund_id] = {
            "id": refund_id, "object": "refund", "amount": amount, "currency": intent["currency"],
            "status": status, "payment_intent": intent["id"], "metadata": metadata,
        }  # fmt: skip
        return self.refunds[refund_id]

    def handle(self, method: str, path: str, form: dict, key: str | None) -> tuple[int, dict]:
        with self.lock:
            self.requests.append((method, path))
            if key and key in self.replies:
                return self.replies[key]
            reply = self._route(method, urlsplit(path).path, form | dict(parse_qsl(urlsplit(path).query)))
            if key and method == "POST":
                self.replies[key] = reply
            return reply

    def _route(self, method, path, form):
        parts = path.strip("/").split("/")  # v1, payment_intents, id, cancel
        if parts[1] == "payment_intents" and method == "POST" and len(parts) == 2:
            intent_id = "pi_" + secrets.token_hex(12)
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
                "metadata": _metadata(form),
                "last_payment_error": None,
                "amount_received": 0,
            }
            return 200, self.intents[intent_id]
        if parts[1] == "payment_intents" and len(parts) >= 3:
            intent = self.intents.get(parts[2])
            if intent is None:
                return 404, _error("resource_missing", "No such payment_intent")
            if len(parts) == 4 and parts[3] == "cancel":
                if intent["status"] in {"succeeded", "canceled"}:
                    return 400, _error("payment_intent_unexpected_state", f"This PaymentIntent is {intent['status']}")
                intent["status"] = "canceled"
            return 200, intent
        if parts[1] == "refunds" and method == "POST":
            intent = self.intents[form["payment_intent"]]
            amount = int(form.get("amount", intent["amount"]))
            refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
            if amount > intent.get("amount_received", 0) - refunded:  # as Stripe: never more than is left
                code = "charge_already_refunded" if refunded >= intent["amount"] else "amount_too_large"
                return 400, _error(code, f"Refund amount ({amount}) is greater than what is left to refund.")
            return 200, self._new_refund(intent, amount, _metadata(form))
        if parts[1] == "refunds" and len(parts) == 2:
            listed = [r for r in self.refunds.values() if r["payment_intent"] == form.get("payment_intent")]
            return 200, {"object": "list", "data": listed, "has_more": False, "url": "/v1/refunds"}
        if parts[1] == "refunds" and len(parts) == 3:
            if parts[2] not in self.refunds:
                return 404, _error("resource_missing", f"No such refund: '{parts[2]}'")
            return 200, self.refunds[parts[2]]
        if parts[1] == "disputes" and len(parts) == 3:
            if parts[2] not in self.disputes:
                return 404, _error("resource_missing", f"No such dispute: '{parts[2]}'")
            return 200, self.disputes[parts[2]]
        return 404, _error("resource_missing", f"Unknown path {path}")


def _metadata(form: dict) -> dict:
    return {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}


def _error(code: str, message: str) -> dict:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}


def _handler(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self._answer("GET", {})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            self._answer("POST", dict(parse_qsl(body)))

        def _answer(self, method, form):
            status, body = fake.handle(method, self.path, form, self.headers.get("Idempotency-Key"))
            with fake.lock:
                drop = fake.drop_next > 0
                fake.drop_next = max(fake.drop_next - 1, 0)
            if drop:  # the work is done, the answer is lost
                self.close_connection = True
                self.connection.shutdown(2)
                return
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(6))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
