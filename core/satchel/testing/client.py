"""A devpi-client-like JSON client over WebTest: devpi's headers, X-Devpi-Auth after ``login``."""

import base64

from webtest import TestApp


class DevpiClient:
    def __init__(self, app):
        self.app = app
        self.web = TestApp(app.wsgi)
        self.auth: str | None = None

    def headers(self, extra=None):
        headers = {"Accept": "application/json", "Content-Type": "application/json",
                   "User-Agent": "devpi-client/7.3.0 (test)"}
        if self.auth:
            headers["X-Devpi-Auth"] = self.auth
        headers.update(extra or {})
        return headers

    def login(self, user, password):
        reply = self.web.post_json("/+login", {"user": user, "password": password}, headers=self.headers())
        token = reply.json["result"]["password"]
        self.auth = base64.b64encode(f"{user}:{token}".encode()).decode()
        return token

    def logoff(self):
        self.auth = None

    def get(self, path, status=200, **kw):
        return self.web.get(path, headers=self.headers(kw.pop("headers", None)), status=status, **kw)

    def put(self, path, body, status=None, **kw):
        return self.web.put_json(path, body, headers=self.headers(kw.pop("headers", None)), status=status, **kw)

    def patch(self, path, body, status=None, **kw):
        return self.web.patch_json(path, body, headers=self.headers(kw.pop("headers", None)), status=status, **kw)

    def delete(self, path, status=None, **kw):
        return self.web.delete(path, headers=self.headers(kw.pop("headers", None)), status=status, **kw)
