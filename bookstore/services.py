from rest_framework.authtoken.models import Token


def api_token_get_or_create(*, user) -> Token:
    """The user's API token; one per user, kept until revoked in the admin."""
    token, _ = Token.objects.get_or_create(user=user)
    return token
