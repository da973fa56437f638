"""Helpers for the page tests (catalogue, cart, orders)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_for(client, url: str) -> int:
    """SQL queries of one GET, which must answer 200."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    # Counted at once: the next request empties the connection's query log, and the capture with it.
    return len(captured)


def messages_of(response) -> list[str]:
    """The flash messages a (followed) response shows."""
    return [str(message) for message in response.context["messages"]]
