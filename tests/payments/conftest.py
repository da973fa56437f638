import pytest
from django.contrib.auth.models import Permission

from tests.factories import UserFactory


@pytest.fixture
def refunder(db):
    """A member of staff allowed to refund (the permission, not a superuser)."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="refund_order", content_type__app_label="orders"),
        Permission.objects.get(codename="view_order", content_type__app_label="orders"),
        Permission.objects.get(codename="view_refund", content_type__app_label="payments"),
    )
    return user
