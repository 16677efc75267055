"""An HTTP proxy between the broker and authsvc that records every request
the broker sends and the answer it got, so a test can check the audit log
against what the broker really asked. Passwords are never recorded.

Keep-alive on both sides (HTTP/1.1), like the broker and authsvc.

It runs in threads of the test's own process, not as a child: its "exit
status" is stop(), which raises if serving ended badly or if a request
failed inside the proxy (a failure the broker would only have seen as a
dropped connection).
"""

import http.client
import http.server
import os
import sys
import threading
import traceback
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import token_ledger  # noqa: E402
from timing import scaled  # noqa: E402


class ProxyError(RuntimeError):
    pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler):
        super().__init__(address, handler)
        self.errors = []  # tracebacks of requests that raised

    def handle_error(self, request, client_address):
        # The default prints the traceback and goes on: kept for stop().
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            return  # the broker hung up on a kept-alive connection
        self.errors.append(traceback.format_exc())


class RecordingProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.records = []  # dicts: method, endpoint, params (no password), status, body
        self.kept = []  # what take() returned
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                params_text = body.decode() if self.command == "POST" else query
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "content-length", "host")}
                status, answer = proxy._upstream(self.command, self.path, body, headers)
                params = dict(urllib.parse.parse_qsl(params_text, keep_blank_values=True))
                params.pop("password", None)
                with proxy._lock:
                    proxy.records.append({"method": self.command,
                                          "endpoint": path.rsplit("/", 1)[-1],
                                          "params": params, "status": status,
                                          "body": answer.decode()})
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = _forward
            do_POST = _forward

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._local = threading.local()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _upstream(self, method, path, body, headers):
        """Forwards one request; authsvc down is answered 502, which the
        broker treats like a refused connection: an error, fail-closed."""
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.upstream_port, timeout=scaled(5))
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
        return 502, b"authsvc unreachable"

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Stops serving; raises ProxyError if a request failed in the proxy
        or the serving thread does not end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(scaled(10))
        if self._thread.is_alive():
            raise ProxyError("the recording proxy's thread did not end")
        if self._server.errors:
            raise ProxyError("%d request(s) failed in the recording proxy; the first:\n%s"
                             % (len(self._server.errors), self._server.errors[0]))

    def keep_artifacts(self, folder):
        """Keeps every record taken or not, as JSON lines, among the test
        artifacts: they must hold no password either."""
        if folder:
            import json
            with self._lock:
                records = self.kept + self.records
            token_ledger.keep_text(folder, "proxy-records.jsonl",
                                   "".join(json.dumps(r) + "\n" for r in records))

    def take(self):
        """The records so far, and forget them."""
        with self._lock:
            out, self.records = self.records, []
            self.kept += out
        return out
