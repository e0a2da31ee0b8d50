"""A loopback HTTP server for the HTTP client's own tests: answers every request with 200 and a JSON echo of it
(method, path, query, headers, body); `/big/N` answers N bytes; faults (status, delay, close) come from the base.
Usage: fake_echo.py [--port 0] [--tls-cert C --tls-key K]"""
import sys

import fake_http


class Echo(fake_http.FakeApi):
    def handle(self, method, path, query, headers, body):
        if path.startswith("/big/"):
            return 200, {"Content-Type": "text/plain"}, b"x" * int(path[5:])
        return 200, {"X-Echo": "yes"}, {"method": method, "path": path, "query": query, "headers": headers,
                                         "body": body}


if __name__ == "__main__":
    sys.exit(fake_http.serve(Echo()))
