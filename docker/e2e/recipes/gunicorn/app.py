"""A WSGI app: /slow works 1.5 s, everything else answers at once."""
import time


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(1.5)
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
