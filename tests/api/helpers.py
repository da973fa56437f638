ORDER_DETAILS = {
    "email": "ada@example.com",
    "shipping": {"name": "Ada Lovelace", "line1": "1 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "GB"},
}


def csrf_headers(client) -> dict:
    """The header a session client echoes from its `csrftoken` cookie."""
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def add_to_cart(client, book, quantity: int = 1, **extra):
    return client.post("/api/v1/cart/lines/", {"book": book.pk, "quantity": quantity}, format="json", **extra)


def place_order(client, details=None, **extra):
    return client.post("/api/v1/orders/", details or ORDER_DETAILS, format="json", **extra)


def assert_error(response, status: int, code: str, fields: list[str] | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert sorted(error["fields"]) == sorted(fields or [])
    return error
