"""3D Secure: requires_action, the challenge page, and both of its endings (without a browser)."""

import urllib.error
import urllib.parse
import urllib.request

import pytest

from .conftest import RETURN_URL, paid_intent, press


def _challenge(client):
    pi = paid_intent(client, pm="pm_card_threeDSecure2Required")
    assert pi.status == "requires_action"
    assert pi.next_action.type == "redirect_to_url"
    assert pi.next_action.redirect_to_url.return_url == RETURN_URL
    url = pi.next_action.redirect_to_url.url
    with urllib.request.urlopen(url) as response:
        page = response.read().decode()
    assert "Complete" in page and "Fail" in page and "20.00 EUR" in page
    return pi, url


def test_complete(emulator, client, endpoint, receiver):
    pi, url = _challenge(client)
    redirect = press(url, "complete")
    assert redirect.code == 303
    location = urllib.parse.urlsplit(redirect.headers["Location"])
    assert location._replace(query="").geturl() == RETURN_URL
    assert urllib.parse.parse_qs(location.query) == {
        "payment_intent": [pi.id], "payment_intent_client_secret": [pi.client_secret],
        "redirect_status": ["succeeded"]}
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.status == "succeeded"
    assert pi.latest_charge.payment_method_details.card.three_d_secure.result == "authenticated"
    assert emulator.wait_idle(5)
    assert receiver.types() == ["payment_intent.created", "payment_intent.requires_action", "charge.succeeded",
                                "payment_intent.succeeded"]
    # The challenge is spent.
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url)
    assert info.value.code == 404


def test_fail(client):
    pi, url = _challenge(client)
    redirect = press(url, "fail")
    assert "redirect_status=failed" in redirect.headers["Location"]
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "payment_intent_authentication_failure"
    assert pi.payment_method is None
