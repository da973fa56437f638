"""The emulator's state: every object by kind and id, under one lock, optionally kept in a file.

One re-entrant lock guards everything. A request holds it for the whole of its
work (idempotency check, changes, events), so each API call is atomic, the way
Stripe serializes writes to one object; the calls are short, so this costs little.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from typing import Any, Iterator

from . import objects
from .errors import resource_missing

KINDS = {
    "acct": "account",
    "cus": "customer",
    "pm": "payment_method",
    "pi": "payment_intent",
    "ch": "charge",
    "txn": "balance_transaction",
    "re": "refund",
    "dp": "dispute",
    "evt": "event",
    "we": "webhook_endpoint",
    "cs": "checkout.session",
    "mandate": "mandate",
}
IDEMPOTENCY_TTL = 24 * 3600  # Stripe keeps keys at least 24 hours
FORMAT_VERSION = 1


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.clear()
        if path and os.path.exists(path):
            self._load()

    def clear(self) -> None:
        with self.lock:
            self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS.values()}
            self.add(objects.account(objects.new_id("acct", 16)))
            # Secrets are kept apart: Stripe shows an endpoint's secret only when it is created.
            self.endpoint_secrets: dict[str, str] = {}
            self.idempotency: dict[str, dict[str, Any]] = {}
            # Open 3D Secure challenges by token: {"payment_intent": id, "return_url": url}.
            self.challenges: dict[str, dict[str, Any]] = {}
            # A Checkout Session's line items and `payment_intent_data`, by session id (not part of the object).
            self.checkout_line_items: dict[str, list[dict[str, Any]]] = {}
            self.checkout_intent_data: dict[str, dict[str, Any]] = {}

    @property
    def account(self) -> dict[str, Any]:
        return next(iter(self.objects["account"].values()))

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["object"]][obj["id"]] = obj
        return obj

    def get(self, kind: str, object_id: str | None, param: str = "id") -> dict[str, Any]:
        obj = self.objects[kind].get(object_id or "")
        if obj is None:
            raise resource_missing(kind, object_id or "", param)
        return obj

    def find(self, object_id: str) -> dict[str, Any] | None:
        """Any object by id, whatever its kind (for expansion)."""
        kind = KINDS.get(object_id.partition("_")[0])
        return self.objects[kind].get(object_id) if kind else None

    def newest_first(self, kind: str) -> Iterator[dict[str, Any]]:
        # Dicts keep insertion order, which is creation order: Stripe lists newest first.
        return reversed(list(self.objects[kind].values()))

    # --- idempotency -------------------------------------------------------------

    def idempotent_result(self, scope: str) -> dict[str, Any] | None:
        record = self.idempotency.get(scope)
        if record and record["created"] < time.time() - IDEMPOTENCY_TTL:
            del self.idempotency[scope]
            return None
        return record

    def remember(self, scope: str, request: dict[str, Any], status: int, body: str,
                 headers: dict[str, str] | None = None) -> None:
        # `headers`: what the answer said beyond its body (a 500's Stripe-Should-Retry), replayed with it.
        self.idempotency[scope] = {"request": request, "status": status, "body": body, "headers": headers or {},
                                   "created": time.time()}

    # --- persistence -------------------------------------------------------------

    def save(self) -> None:
        """Write the whole state to the file, atomically (a crash leaves the old file whole)."""
        if not self.path:
            return
        with self.lock:
            state = {
                "format": FORMAT_VERSION,
                "objects": self.objects,
                "endpoint_secrets": self.endpoint_secrets,
                "idempotency": self.idempotency,
                "challenges": self.challenges,
                "checkout_line_items": self.checkout_line_items,
                "checkout_intent_data": self.checkout_intent_data,
            }
            folder = os.path.dirname(os.path.abspath(self.path))
            fd, tmp = tempfile.mkstemp(prefix=".stripe-emulator-", dir=folder)
            with os.fdopen(fd, "w") as f:
                json.dump(state, f)
            os.replace(tmp, self.path)

    def _load(self) -> None:
        with open(self.path) as f:  # type: ignore[arg-type]
            state = json.load(f)
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"{self.path} was written by another version of the emulator; delete it to start afresh")
        self.objects = {kind: state["objects"].get(kind, {}) for kind in KINDS.values()}
        self.endpoint_secrets = state["endpoint_secrets"]
        self.idempotency = state["idempotency"]
        self.challenges = state["challenges"]
        self.checkout_line_items = state.get("checkout_line_items", {})
        self.checkout_intent_data = state.get("checkout_intent_data", {})
