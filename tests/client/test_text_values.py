"""The two readings of an optional text value (`teammesh.client.text_values`): an id from
the wire is kept exactly as sent, a setting a person typed is trimmed; blank or not a
string is absent either way."""

from __future__ import annotations

from teammesh.client import ENV_API_BASE, api_base_from_env
from teammesh.client.text_values import non_blank, stripped


def test_an_id_from_the_wire_is_kept_as_sent() -> None:
    assert non_blank(" call-1 ") == " call-1 "  # it must match what the gateway holds
    assert stripped(" http://127.0.0.1:1 \n") == "http://127.0.0.1:1"
    for absent in (None, "", "   ", "\t\n", 7, True, ["x"], {"id": "x"}):
        assert non_blank(absent) is None, absent
        assert stripped(absent) is None, absent


def test_the_gateway_url_from_the_environment() -> None:
    assert ENV_API_BASE == "CODEX_MANAGER_API_BASE"
    assert api_base_from_env({ENV_API_BASE: " http://127.0.0.1:9/ "}) == "http://127.0.0.1:9/"
    assert api_base_from_env({ENV_API_BASE: "  "}) is None
    assert api_base_from_env({}) is None
