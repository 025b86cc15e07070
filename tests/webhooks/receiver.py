"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread.

It records every request it gets (path, headers, body, whether its signature verifies with
the secret it is given) and answers with the status codes it is told, in order (then 200).
`hold` makes it keep the next request without answering until `release()`: the worker calling
it is then in the middle of a delivery.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webhooks import signing


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    signed: bool

    @property
    def key(self) -> str:
        return self.headers.get("X-AIOps-Delivery", "")

    @property
    def event(self) -> str:
        return self.headers.get("X-AIOps-Event", "")

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.secret = ""
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.hold_at: int | None = None  # hold the request with this number (1-based)
        self.unanswered = 0
        self.held = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                signed = signing.verify(receiver.secret, body, headers.get(signing.HEADER, ""))
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, signed))
                    number = len(receiver.received)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.hold_at == number:
                    receiver.held.set()
                    receiver._released.wait(timeout=120)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    # The caller died while we held it: nobody to answer.
                    receiver.unanswered += 1

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def keys(self) -> list[str]:
        with self._lock:
            return [r.key for r in self.received]
