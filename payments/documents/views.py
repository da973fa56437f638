"""Downloading a receipt or credit note PDF: the order's owner, a guest holding the order's secret
link, or staff with the document's view permission (orders/selectors.order_visible_to); anyone else gets 404."""

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from orders.selectors import order_visible_or_404
from payments.documents.selectors import (
    CREDIT_NOTE_STAFF_PERMISSION,
    RECEIPT_STAFF_PERMISSION,
    credit_note_file_response,
    downloadable_credit_notes,
    downloadable_receipt,
    receipt_file_response,
)


@require_GET
def receipt_download(request: HttpRequest, number: str, access_key: str | None = None) -> FileResponse:
    order = order_visible_or_404(
        number=number, user=request.user, access_key=access_key, staff_permission=RECEIPT_STAFF_PERMISSION
    )
    receipt = downloadable_receipt(order)
    if receipt is None:
        raise Http404("This order's receipt is not ready yet.")
    return receipt_file_response(receipt)


@require_GET
def credit_note_download(request: HttpRequest, number: str, credit_note: int, access_key: str | None = None) -> FileResponse:
    order = order_visible_or_404(
        number=number, user=request.user, access_key=access_key, staff_permission=CREDIT_NOTE_STAFF_PERMISSION
    )
    note = downloadable_credit_notes(order).filter(number=credit_note).first()
    if note is None:
        raise Http404("No such credit note, or it is not ready yet.")
    return credit_note_file_response(note)
