"""Request parameters: Stripe's nested form encoding, and typed reads that fail as Stripe does."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError, invalid_param

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def parse_form(text: str) -> dict[str, Any]:
    """`a[b][0]=x&expand[]=y` -> `{"a": {"b": ["x"]}, "expand": ["y"]}`.

    stripe-python sends arrays with indexes (`expand[0]`), Stripe.js and curl users
    often with `[]`; both become lists.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head] + _KEY_PART.findall("[" + rest) if rest else [head]
        node = root
        for part in parts[:-1]:
            part = part or str(len(node))
            child = node.get(part)
            if not isinstance(child, dict):  # `a=1&a[b]=2`: the later, nested form wins
                child = node[part] = {}
            node = child
        node[parts[-1] or str(len(node))] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


class Params:
    """The parameters of one call, checked against the names the route accepts.

    Unknown names are refused (`parameter_unknown`) as Stripe does, so a typo in the
    shop fails here as it would against Stripe instead of being silently ignored.
    """

    # `key` and `client_secret` are how a browser authenticates (see server.Handler._api_key).
    ALWAYS_ALLOWED = frozenset({"expand", "key", "client_secret"})

    def __init__(self, raw: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
        for name in raw:
            if name not in allowed and name not in self.ALWAYS_ALLOWED:
                raise invalid_param(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    def sub(self, name: str, allowed: tuple[str, ...]) -> Params:
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            raise invalid_param(f"Invalid object: {name}", param=name, code="parameter_invalid_empty")
        try:
            return Params(value, allowed)
        except StripeError as exc:  # name the nested parameter as Stripe does: `card[numbr]`
            inner = f"{name}[{exc.error['param']}]"
            raise invalid_param(f"Received unknown parameter: {inner}", param=inner, code="parameter_unknown") from None

    def str(self, name: str, *, required: bool = False, choices: tuple[str, ...] = ()) -> str | None:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                raise invalid_param(f"Missing required param: {name}.", param=name, code="parameter_missing")
            return None
        if not isinstance(value, str):
            raise invalid_param(f"Invalid string: {name}", param=name, code="parameter_invalid_string")
        if choices and value not in choices:
            raise invalid_param(
                f"Invalid {name}: must be one of {', '.join(choices)}", param=name, code="parameter_invalid_string"
            )
        return value

    def int(self, name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        value = self.str(name, required=required)
        if value is None:
            return None
        if not re.fullmatch(r"-?\d+", value):
            raise invalid_param(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")
        number = int(value)
        if minimum is not None and number < minimum:
            raise invalid_param(
                f"This value must be greater than or equal to {minimum}.", param=name, code="parameter_invalid_integer"
            )
        return number

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.str(name)
        if value is None:
            return default
        if value not in ("true", "false"):
            raise invalid_param(f"Invalid boolean: {value}", param=name, code="parameter_invalid_boolean")
        return value == "true"

    def list(self, name: str) -> list[str]:
        return list_param(self.raw, name)

    def metadata(self, current: dict[str, str] | None = None) -> dict[str, str]:
        """Stripe's metadata update: keys merge, an empty value unsets a key, `metadata=""` clears all."""
        value = self.raw.get("metadata")
        result = dict(current or {})
        if value is None:
            return result
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid_param("Invalid object: metadata", param="metadata")
        for key, item in value.items():
            if item == "":
                result.pop(key, None)
            else:
                result[key] = str(item)
        return result



def list_param(raw: dict[str, Any], name: str) -> list[str]:
    value = raw.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise invalid_param(f"Invalid array: {name}", param=name, code="parameter_invalid_empty")
    return value
