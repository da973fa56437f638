"""What every resource handler shares: state, events, background work, expansion and lists."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from . import objects
from .controls import Controls
from .errors import invalid_param, invalid_request
from .params import Params
from .scheduler import Scheduler
from .store import Store
from .traffic import RateLimiter, Stats
from .webhooks import Dispatcher, wants

# The version an account is "pinned" to: the one stripe-python 15.6 sends.
DEFAULT_API_VERSION = "2026-08-26.dahlia"
MAX_EXPAND_DEPTH = 4  # Stripe's limit
# Called with (backend, call, kind, object) after each event: how one resource follows another's
# changes (a Checkout Session its PaymentIntent) without the modules importing each other.
EVENT_LISTENERS: list[Callable[[Backend, Call | None, str, dict[str, Any]], None]] = []


@dataclass(frozen=True)
class Call:
    """Who asked and how: the context of one API request."""

    api_key: str
    version: str
    request_id: str | None
    idempotency_key: str | None
    base_url: str  # where the client reached the emulator, for links it must follow (3DS)
    publishable: bool = False


class Backend:
    def __init__(self, state_file: str | None = None, settings: dict[str, Any] | None = None,
                 faults: dict[str, Any] | None = None) -> None:
        self.store = Store(state_file)
        self.controls = Controls(settings, faults)
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.scheduler = Scheduler()
        self.dispatcher = Dispatcher(self.store, self.scheduler, self.controls, self.stats)
        # Idempotency scopes (API key + key) of requests being processed now, guarded by the
        # store's lock; a request releases its own, so reset leaves them be.
        self.in_progress: set[str] = set()
        self._generation = 0  # bumped by reset: background work from before it is dropped

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()

    def reset(self) -> None:
        with self.store.lock:
            self._generation += 1
            self.scheduler.clear()
            self.dispatcher.clear()
            self.controls.reset()
            self.stats.clear()
            self.limiter.clear()
            self.store.clear()
            self.store.save()

    def summary(self) -> dict[str, Any]:
        with self.store.lock:
            counts = {kind: len(objs) for kind, objs in self.store.objects.items()}
        return {"account": self.store.account["id"], "objects": counts, "idle": self.scheduler.wait_idle(0)}

    # --- events ------------------------------------------------------------------

    def emit(self, call: Call | None, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        """Record an event with a snapshot of `obj` and hand it to the endpoints subscribed now.

        `call` is None for what happens on its own (a dispute, a refund settling):
        Stripe sends those with a null request id.
        """
        endpoints = [e["id"] for e in self.store.objects["webhook_endpoint"].values() if wants(e, kind)]
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = objects.event(
            kind=kind,
            data=data,
            api_version=call.version if call else DEFAULT_API_VERSION,
            request_id=call.request_id if call else None,
            idempotency_key=call.idempotency_key if call else None,
            pending_webhooks=len(endpoints),
        )
        self.store.add(event)
        self.dispatcher.deliver(event, endpoints)
        for listener in EVENT_LISTENERS:
            listener(self, call, kind, obj)

    def change(self, call: Call | None, kind: str, obj: dict[str, Any], **changes: Any) -> None:
        """Apply changes to an object and emit `kind` with Stripe's `previous_attributes`."""
        previous = {key: copy.deepcopy(obj.get(key)) for key, value in changes.items() if obj.get(key) != value}
        obj.update(changes)
        if previous:
            self.emit(call, kind, obj, previous)

    # --- background work ---------------------------------------------------------

    def later(self, delay: float, fn: Callable[..., None], *args: Any, waited: bool = True) -> None:
        """Run `fn(*args)` after `delay` seconds, holding the state lock, and save the state after.

        `waited=False`: `wait_idle` does not wait for it (a session's expiry, hours away)."""
        self.scheduler.call_later(delay, self._run_locked, self._generation, fn, args, waited=waited)

    def _run_locked(self, generation: int, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        with self.store.lock:
            if generation != self._generation:
                return
            fn(*args)
            self.store.save()

    # --- responses ---------------------------------------------------------------

    def expand(self, obj: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
        """A copy of `obj` with the ids at each `expand[]` path replaced by their objects."""
        result = copy.deepcopy(obj)
        for path in paths:
            parts = path.split(".")
            if len(parts) > MAX_EXPAND_DEPTH:
                raise invalid_param(
                    f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. Property: {path}",
                    param="expand",
                )
            self._expand(result, parts, path)
        return result

    def _expand(self, node: dict[str, Any], parts: list[str], path: str) -> None:
        head, rest = parts[0], parts[1:]
        if head not in node:
            raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
        value = node[head]
        target = self.store.find(value) if isinstance(value, str) else None
        if isinstance(value, str) and target is not None:
            value = node[head] = copy.deepcopy(target)
        elif value is not None and not isinstance(value, (dict, list)):
            raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
        if not rest or value is None:
            return
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                self._expand(item, rest, path)

    def page(self, kind: str, p: Params, url: str, keep: Callable[[dict[str, Any]], bool] = lambda obj: True
             ) -> dict[str, Any]:
        """One page of a list, newest first, with Stripe's limit / starting_after / ending_before."""
        limit = p.int("limit", minimum=1) or 10
        if limit > 100:
            raise invalid_param("This value must be less than or equal to 100.", param="limit",
                                code="parameter_invalid_integer")
        items = [obj for obj in self.store.newest_first(kind) if keep(obj)]
        ids = [obj["id"] for obj in items]
        after, before = p.str("starting_after"), p.str("ending_before")
        for cursor, param in ((after, "starting_after"), (before, "ending_before")):
            if cursor and cursor not in ids:
                self.store.get(kind, cursor, param)  # raises Stripe's resource_missing
        if after:
            items = items[ids.index(after) + 1:]
            return objects.list_of(items[:limit], url, has_more=len(items) > limit)
        if before:
            items = items[:ids.index(before)]
            return objects.list_of(items[-limit:], url, has_more=len(items) > limit)
        return objects.list_of(items[:limit], url, has_more=len(items) > limit)
