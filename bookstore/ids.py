"""Row ids where they enter the shop: URLs, form fields, API bodies.

Ids are bigints (BigAutoField): a number outside 1..2**63-1 names no row, and is refused at
the edge (404 for a URL, 400 for a body) instead of reaching the database. There, SQLite
cannot even bind it (OverflowError, a 500), and PostgreSQL is sent it whenever the lookup
goes through a foreign key (`book_id=...`), which Django's own overflow check skips.
"""

MAX_ID = 2**63 - 1


class IdConverter:
    """`<id:name>` in a URL: a row id in range, or no match (the URL resolves nowhere: 404)."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(f"{value} is not a row id.")
        return number

    def to_url(self, value: int) -> str:
        return str(value)
