class ShopError(Exception):
    """A refusal the person asking can act on; its message is shown to them as it is.

    Each app raises its own subclass, so callers can catch one app's refusals or all.
    """

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
