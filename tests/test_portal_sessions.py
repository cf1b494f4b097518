"""The portal's sessions: the cookie carries only a random id, never the department's token;
sign-out ends the session on the server, so the old cookie opens nothing; sessions end when
idle or old (a fixed clock here); the cookie is HttpOnly and SameSite, and Secure when the
portal is served over HTTPS."""

from __future__ import annotations

import base64
import re

import pytest
from starlette.testclient import TestClient

from portal.app import create_app
from portal.client import Identities, NodeClient
from portal.sessions import SessionStore

TOKEN = "cct_0badf00d_" + "s" * 43  # an insecure node takes any token: this one is easy to look for


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(node, clock):
    client = NodeClient(node.node.address, Identities())
    return create_app(client, sessions=SessionStore(idle_seconds=30 * 60, max_seconds=8 * 3600, clock=clock))


def sign_in(browser, department: str = "130100005"):
    page = browser.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    reply = browser.post("/signin", data={"csrf": csrf, "department": department, "token": TOKEN, "node": "hebei",
                                          "next": "/requests"})
    assert reply.status_code == 303, reply.text
    return reply


def signed_in(browser) -> bool:
    reply = browser.get("/requests")
    return reply.status_code == 200 and "130100005" in reply.text


def _decodings(value: str) -> list[bytes]:
    found = [value.encode()]
    for part in value.split("."):
        try:
            found.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except ValueError:
            pass
    return found


def test_the_cookie_holds_a_random_id_and_never_the_token(app):
    with TestClient(app, follow_redirects=False) as browser:
        reply = sign_in(browser)
        cookie = browser.cookies["portal"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", cookie), cookie
        assert not any(b"cct_" in blob or b"130100005" in blob for blob in _decodings(cookie))
        assert TOKEN not in reply.headers.get("set-cookie", "")
        assert signed_in(browser)


def test_sign_in_gives_a_new_session_id(app):
    with TestClient(app, follow_redirects=False) as browser:
        browser.get("/signin")
        before = browser.cookies["portal"]
        sign_in(browser)
        assert browser.cookies["portal"] != before


def test_after_sign_out_the_old_cookie_opens_nothing(app):
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser)
        stolen = browser.cookies["portal"]
        page = browser.get("/requests")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert browser.post("/signout", data={"csrf": csrf}).status_code == 303
        assert not signed_in(browser)
    with TestClient(app, follow_redirects=False, cookies={"portal": stolen}) as thief:
        assert thief.get("/requests").headers["location"].startswith("/signin")
    assert len(app.state.sessions) == 0


def test_a_session_ends_when_idle_and_when_old(app, clock):
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser)
        clock.now += 29 * 60
        assert signed_in(browser)  # seen: the idle time starts again
        clock.now += 30 * 60
        assert not signed_in(browser), "30 idle minutes end the session"
        sign_in(browser)
        for _ in range(8 * 4 - 1):  # busy all day: a request every 15 minutes
            clock.now += 15 * 60
            assert signed_in(browser)
        clock.now += 15 * 60
        assert not signed_in(browser), "8 hours after sign-in the session ends, however busy"


@pytest.mark.parametrize("https_only", [False, True])
def test_the_cookie_is_httponly_samesite_and_secure_over_https(node, https_only):
    app = create_app(NodeClient(node.node.address, Identities()), https_only=https_only)
    with TestClient(app, follow_redirects=False, base_url="https://portal.example") as browser:
        header = sign_in(browser).headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header
    assert ("secure" in header.split("; ")) == https_only


def test_cascade_portal_takes_https_only_and_session_lengths():
    from click.testing import CliRunner

    from cli import main

    shown = CliRunner().invoke(main, ["portal", "--help"]).output
    assert "--https-only" in shown and "--session-idle-minutes" in shown and "--session-hours" in shown
