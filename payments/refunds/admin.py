"""Refunds in the admin: a read-only list, and the staff refund of a paid order.

The refund pages hang under RefundAdmin's URLs (/admin/payments/refund/order/<id>/): a form
(amount prefilled with what is left, Stripe's reason, an internal note, copies to restock),
a confirmation that says what will happen, then the order's page with the result. The form
only reads what was typed; the refund service's `refund_check` decides, and its refusal is
shown on the form, before any confirmation is offered. They need the `orders.refund_order`
permission (403 without it). Registered from PaymentsConfig.ready(), beside payments/admin.py.

After any failure the pages say what Stripe did, read back, never a guess: a refused stale
confirmation, or one that broke after its pending row was written (a Stripe call may have
refunded), lists each refund made since the form was opened, those still in flight first
asked of Stripe (`refund_sync`, no lock held). The form and the order's page ask Stripe about
one refund it answered but never settled (its webhook lost or late), so neither shows
"pending" for a refund Stripe made long ago.
"""

import logging

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from bookstore.money import format_money, from_minor_units
from orders.models import Order
from payments.admin import OrderMoneyAdmin
from payments.models import Refund
from payments.refunds.forms import RefundForm
from payments.refunds.selectors import (
    FAILED_STATUSES,
    refund_available_amount,
    refund_in_flight_amount,
    refund_state_token,
    refund_window_closes_at,
    refunds_since,
)
from payments.refunds.services import RefundError, refund_check, refund_create, refund_read_back, refund_read_back_quiet

logger = logging.getLogger(__name__)

REFUND_PERMISSION = "orders.refund_order"


@admin.register(Refund)
class RefundAdmin(OrderMoneyAdmin):
    list_display = ["__str__", "order_link", "amount_display", "status", "failure_reason", "origin", "created_by", "created_at"]
    list_filter = ["status", "origin", "created_at"]
    search_fields = ["order__number", "stripe_refund_id", "order__email"]
    list_select_related = ["order", "created_by"]
    readonly_fields = [
        "order_link", "amount_display", "status", "failure_reason", "reason", "note", "origin", "restock",
        "stripe_refund_id", "created_by", "created_at", "succeeded_at", "shopper_notified_at",
    ]
    fields = readonly_fields

    # No add form: refunds start from the order's page, through the service.

    def get_urls(self):
        return [
            path(
                "order/<int:order_id>/",
                self.admin_site.admin_view(self.refund_order_view),
                name="payments_refund_order",
            ),
            *super().get_urls(),
        ]

    def refund_order_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not request.user.has_perm(REFUND_PERMISSION):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("payment"), pk=order_id)
        order_url = reverse("admin:orders_order_change", args=[order.pk])
        if request.method != "POST":
            refund_read_back_quiet(order=order)
        available = refund_available_amount(order=order)
        if available == 0:
            self.message_user(
                request,
                f"Order {order.number} is {order.get_status_display().lower()}; there is nothing left to refund"
                + (" (refunds are in flight at Stripe)." if refund_in_flight_amount(order=order) else "."),
                messages.WARNING,
            )
            return HttpResponseRedirect(order_url)
        lines = list(order.lines.all())
        form_options = {"order": order, "lines": lines, "available": available}
        if request.method != "POST":
            form = RefundForm(
                initial={"amount": from_minor_units(available, order.currency), "state": refund_state_token(order=order)},
                **form_options,
            )
            return self._render(request, "admin/payments/refund_form.html", order, form, available)

        form = RefundForm(request.POST, **form_options)
        try:
            if form.is_valid():
                # Without the lock: what the last step would refuse is refused here, on the form.
                refund_check(order=order, **self._refund_request(form))
            if not form.is_valid() or "back" in request.POST:
                return self._render(request, "admin/payments/refund_form.html", order, form, available)
            if "confirm" not in request.POST:
                return self._render(request, "admin/payments/refund_confirm.html", order, form, available)
            self._refund(request, order, form)
        except RefundError as exc:
            if exc.code == "stale_form":
                self.message_user(request, exc.message, messages.WARNING)
                self._report_since(request, order, form.cleaned_data["state"])
                return HttpResponseRedirect(order_url)
            form.add_refusal(exc.field, exc.message)
            return self._render(request, "admin/payments/refund_form.html", order, form, available)
        return HttpResponseRedirect(order_url)

    def _refund(self, request, order: Order, form: RefundForm) -> None:
        """'Yes, refund': says how the refund went, even when the shop broke after asking Stripe."""
        try:
            refund = refund_create(
                order_id=order.pk, note=form.cleaned_data["note"], staff_user=request.user, **self._refund_request(form)
            )
        except RefundError:
            raise
        except Exception:
            # The pending row was committed before Stripe was called, so Stripe may have
            # refunded whatever broke afterwards (a locked database while applying its
            # answer): a 500 page would hide that, and a reload would be refused as stale.
            logger.exception("Refund of order %s broke; reporting the refunds since its form was opened", order.number)
            self.message_user(
                request, f"Something went wrong in the shop while refunding order {order.number}.", messages.ERROR
            )
            if not self._report_since(request, order, form.cleaned_data["state"]):
                self.message_user(request, "Nothing was sent to Stripe: nothing was refunded.", messages.INFO)
            return
        self._report(request, refund)

    @staticmethod
    def _refund_request(form: RefundForm) -> dict:
        return {
            "amount": form.cleaned_data["amount"],
            "reason": form.cleaned_data["reason"],
            "restock": form.restock(),
            "expected_state": form.cleaned_data["state"],
        }

    def _render(self, request, template: str, order: Order, form: RefundForm, available: int) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": Order._meta,
            "title": f"Refund order {order.number}",
            "order": order,
            "form": form,
            "available": available,
            "window_closes_at": refund_window_closes_at(order=order),
        }
        if form.is_bound and form.is_valid():
            amount = form.cleaned_data["amount"]
            restock = form.restock()
            context.update(
                amount=amount,
                left_paid=order.refundable_amount - amount,
                reason_display=dict(form.fields["reason"].choices)[form.cleaned_data["reason"]],
                restock_lines=[(line, restock[line.pk]) for line in form.lines if line.pk in restock],
                fully_refunded=amount == order.refundable_amount,
            )
        return TemplateResponse(request, template, context)

    def _report(self, request, refund: Refund) -> None:
        amount = format_money(refund.amount, refund.currency)
        if refund.status == Refund.Status.SUCCEEDED:
            self.message_user(request, f"Refunded {amount}. The shopper will get an email and an updated receipt.", messages.SUCCESS)
        elif refund.status in (Refund.Status.PENDING, Refund.Status.REQUIRES_ACTION):
            self.message_user(
                request,
                f"Stripe is processing the refund of {amount}; the order changes once Stripe confirms it.",
                messages.INFO,
            )
        else:
            self.message_user(request, f"The refund of {amount} failed: {refund.failure_reason}", messages.ERROR)

    def _report_since(self, request, order: Order, state: str) -> list[Refund]:
        """Say, one message each, what became of the refunds made since the form was opened."""
        refunds = [refund_read_back(refund=refund) for refund in refunds_since(order=order, state=state)]
        for refund in refunds:
            by = "in Stripe's dashboard" if refund.origin == Refund.Origin.STRIPE else f"by {refund.created_by or 'the shop'}"
            if refund.status == Refund.Status.SUCCEEDED:
                level = messages.SUCCESS
            elif refund.status in FAILED_STATUSES:
                level = messages.ERROR
            else:
                level = messages.INFO
            self.message_user(request, f"Since this form was opened, {by}: {refund_words(refund)}.", level)
        return refunds


def refund_words(refund: Refund) -> str:
    """A refund's state as Stripe last told us, in a sentence for staff."""
    amount = format_money(refund.amount, refund.currency)
    if refund.status == Refund.Status.SUCCEEDED:
        return f"{amount} refunded (Stripe id {refund.stripe_refund_id})"
    if refund.status in FAILED_STATUSES:
        return f"{amount} {refund.get_status_display().lower()}: {refund.failure_reason.rstrip('.')}"
    if refund.stripe_refund_id:
        return f"Stripe is still processing {amount} (Stripe id {refund.stripe_refund_id})"
    return (
        f"{amount} was sent to Stripe, whose answer is not recorded yet; "
        "the shop will update this refund when Stripe's notification arrives"
    )
