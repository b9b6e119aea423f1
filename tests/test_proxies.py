"""Behind reverse proxies: PROXY_FIX_HOPS says how many, and only their headers count."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify, request, url_for

from portal import create_app
from portal.config import ConfigError, load_settings
from tests.conftest import TEST_SECRET_KEY, app_config

FORWARDED = {
    # The client wrote the first address; the proxies appended the rest.
    "X-Forwarded-For": "198.51.100.66, 203.0.113.7, 10.0.0.2",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "madoguchi.city.example",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Prefix": "/elsewhere",
}


def _where(app: Flask) -> dict[str, str]:
    """What the portal believes about a request that came through proxies."""

    @app.get("/test-where")
    def where():
        return jsonify(
            address=request.remote_addr,
            home=url_for("site.show_home", _external=True),
        )

    return app.test_client().get("/test-where", headers=FORWARDED).get_json()


@pytest.mark.parametrize(
    ("hops", "address", "home"),
    [
        ("0", "127.0.0.1", "http://localhost/"),
        ("1", "10.0.0.2", "https://madoguchi.city.example/"),
        # Two proxies must each have appended a scheme and a host; here only one did.
        ("2", "203.0.113.7", "http://localhost/"),
    ],
)
def test_only_the_trusted_proxies_headers_are_believed(database_url, hops, address, home):
    app = create_app(app_config(database_url, PROXY_FIX_HOPS=hops))
    assert _where(app) == {"address": address, "home": home}


def test_the_number_of_proxies_is_one_setting(tmp_path):
    base = {"SECRET_KEY": TEST_SECRET_KEY}
    behind_nginx = load_settings({**base, "PROXY_FIX_HOPS": "1"}, tmp_path)
    assert behind_nginx.flask_config()["PROXY_FIX_HOPS"] == 1
    assert load_settings(base, tmp_path).proxy_fix_hops == 0


@pytest.mark.parametrize("value", ["-1", "6", "nginx"])
def test_a_bad_number_of_proxies_stops_the_start(value, tmp_path):
    with pytest.raises(ConfigError, match="PROXY_FIX_HOPS must be"):
        load_settings({"SECRET_KEY": TEST_SECRET_KEY, "PROXY_FIX_HOPS": value}, tmp_path)
