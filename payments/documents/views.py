"""Downloading a receipt PDF: the order's owner, a guest holding the order's secret link, or staff.

Anyone else gets 404, as if the order did not exist: a 403 would confirm that it does.
"""

from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET

from orders.models import Order
from payments.models import Receipt
from payments.documents.services import receipt_filename


def _may_see(request: HttpRequest, order: Order, access_key: str | None) -> bool:
    user = request.user
    if access_key is not None:
        return constant_time_compare(access_key, order.access_key)
    if not user.is_authenticated:
        return False
    return order.user_id == user.pk or (user.is_staff and user.has_perm("payments.view_receipt"))


@require_GET
def receipt_download(request: HttpRequest, number: str, access_key: str | None = None) -> FileResponse:
    order = get_object_or_404(Order, number=number)
    if not _may_see(request, order, access_key):
        raise Http404("No such order.")
    receipt = Receipt.objects.filter(order=order, rendered_at__isnull=False).exclude(pdf="").first()
    if receipt is None:
        raise Http404("This order's receipt is not ready yet.")
    response = FileResponse(
        receipt.pdf.open("rb"), as_attachment=True, filename=receipt_filename(receipt), content_type="application/pdf"
    )
    # The receipt names the shopper: no shared cache may keep it.
    response["Cache-Control"] = "private, no-store"
    return response
