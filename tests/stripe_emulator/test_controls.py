"""The /_emulator control routes, the state file, and `python -m stripe_emulator`."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import stripe

from stripe_emulator import Emulator

from .conftest import SECRET_KEY, control, make_client, paid_intent

ROOT = Path(__file__).resolve().parents[2]


def test_reset_drops_everything(emulator, client):
    paid_intent(client)
    emulator.set_faults(duplicate=True)
    status, body = control(emulator, "POST", "/_emulator/reset")
    assert (status, body) == (200, {"reset": True})
    assert client.v1.payment_intents.list().data == []
    assert control(emulator, "GET", "/_emulator/faults")[1]["duplicate"] is False


def test_faults_routes(emulator):
    status, faults = control(emulator, "POST", "/_emulator/faults", {"shuffle": True, "fail_first": 2})
    assert status == 200 and faults["shuffle"] and faults["fail_first"] == 2
    _, faults = control(emulator, "POST", "/_emulator/faults", {
        "api": [{"path": "/v1/refunds", "status": 500, "times": 3}]})
    assert faults["shuffle"] and faults["api"][0]["times"] == 3  # changes merge
    assert control(emulator, "DELETE", "/_emulator/faults")[1]["api"] == []
    assert control(emulator, "POST", "/_emulator/faults", {"shufle": True})[0] == 400
    assert control(emulator, "POST", "/_emulator/faults", {"api": [{"path": "/v1", "status": 418}]})[0] == 400


def test_settings_routes(emulator):
    status, settings = control(emulator, "POST", "/_emulator/settings", {"refunds": "pending_failed"})
    assert status == 200 and settings["refunds"] == "pending_failed"
    assert control(emulator, "GET", "/_emulator/settings")[1]["refunds"] == "pending_failed"
    assert control(emulator, "POST", "/_emulator/settings", {"refunds": "maybe"})[0] == 400


def test_deliveries_route_waits_for_idle(emulator, client, endpoint, receiver):
    emulator.set_faults(delay=0.2)
    client.v1.customers.create()
    status, body = control(emulator, "GET", "/_emulator/deliveries?wait_idle=5")
    assert status == 200 and body["idle"] is True
    assert [(d["type"], d["status"], d["attempt"]) for d in body["data"]] == [("customer.created", 200, 1)]
    assert body["data"][0]["endpoint"] == endpoint.id


def test_summary(emulator, client):
    client.v1.customers.create()
    status, body = control(emulator, "GET", "/_emulator")
    assert status == 200 and body["objects"]["customer"] == 1 and body["idle"] is True


def test_cors_for_browsers(emulator):
    request = urllib.request.Request(emulator.url + "/v1/payment_intents/pi_x/confirm", method="OPTIONS",
                                     headers={"Origin": "http://127.0.0.1:8000"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    with urllib.request.urlopen(emulator.url + "/v3/") as response:
        assert response.headers["Content-Type"].startswith("application/javascript")
        assert b"confirmPayment" in response.read()


def test_state_file_survives_a_restart(tmp_path):
    path = str(tmp_path / "state.json")
    with Emulator(state_file=path) as first:
        client = make_client(first)
        pi = paid_intent(client, metadata={"order": "1"})
        account = client.v1.accounts.retrieve_current().id
        endpoint = client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/", "enabled_events": ["*"]})
    with Emulator(state_file=path) as second:
        client = make_client(second)
        assert client.v1.payment_intents.retrieve(pi.id).metadata.to_dict() == {"order": "1"}
        assert client.v1.accounts.retrieve_current().id == account
        assert client.v1.refunds.create(params={"payment_intent": pi.id}).status == "succeeded"
        assert client.v1.webhook_endpoints.retrieve(endpoint.id).url == "http://127.0.0.1:9/"
        second.reset()
    with Emulator(state_file=path) as third:
        assert make_client(third).v1.payment_intents.list().data == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--state-file", str(tmp_path / "s.json")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": f"http://127.0.0.1:{port}"},
                                     max_network_retries=0)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.v1.accounts.retrieve_current().object == "account"
                break
            except stripe.APIConnectionError:
                assert time.monotonic() < deadline, process.stdout.read().decode()  # type: ignore[union-attr]
                time.sleep(0.05)
        assert (tmp_path / "s.json").exists() is False  # nothing changed yet
        client.v1.customers.create()
        assert (tmp_path / "s.json").exists()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
