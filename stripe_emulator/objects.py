"""Builders for Stripe's objects, with the fields and nesting of the real API.

Each builder returns a plain dict as Stripe would serialize it: ids for related
objects (expanded on request by `resources.expand`), `null` where Stripe has null.
The shapes follow Stripe's published example objects (openapi fixtures3.json).
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from .cards import TestCard

_ALPHABET = string.ascii_letters + string.digits

ADDRESS_NONE = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}
BILLING_DETAILS_NONE = {"address": ADDRESS_NONE, "email": None, "name": None, "phone": None, "tax_id": None}


def token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{token(length)}"


def now() -> int:
    return int(time.time())


def _base(kind: str, object_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": object_id, "object": kind, "created": now(), "livemode": False, **fields}


def account(account_id: str) -> dict[str, Any]:
    requirements = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": None,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }
    obj = _base(
        "account",
        account_id,
        business_profile={
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": "5942",  # book stores
            "name": "Stripe emulator",
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        business_type=None,
        capabilities={"card_payments": "active", "transfers": "active"},
        charges_enabled=True,
        controller={"type": "account"},
        country="IE",
        default_currency="eur",
        details_submitted=True,
        email="emulator@example.com",
        external_accounts={
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        future_requirements=dict(requirements),
        metadata={},
        payouts_enabled=True,
        requirements=dict(requirements),
        settings={
            "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": True},
                "statement_descriptor_prefix": None,
            },
            "dashboard": {"display_name": "Stripe emulator", "timezone": "Etc/UTC"},
            "payments": {"statement_descriptor": "STRIPE EMULATOR"},
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 7, "interval": "daily"},
                "statement_descriptor": None,
            },
        },
        tos_acceptance={"date": None, "ip": None, "user_agent": None},
        type="standard",
    )
    # Stripe's own account object has no `livemode` (dj-stripe knows this and fills it).
    del obj["livemode"]
    return obj


def customer(*, email: str | None, name: str | None, description: str | None, phone: str | None,
             metadata: dict[str, str], default_payment_method: str | None) -> dict[str, Any]:
    return _base(
        "customer",
        new_id("cus", 14),
        address=None,
        balance=0,
        currency=None,
        default_source=None,
        delinquent=False,
        description=description,
        discount=None,
        email=email,
        invoice_prefix=token(8).upper(),
        invoice_settings={
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        metadata=metadata,
        name=name,
        next_invoice_sequence=1,
        phone=phone,
        preferred_locales=[],
        shipping=None,
        tax_exempt="none",
        test_clock=None,
    )


def card_details(card: TestCard, exp_month: int, exp_year: int) -> dict[str, Any]:
    """The `card` hash of a PaymentMethod."""
    return {
        "brand": card.brand,
        "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "unchecked"},
        "country": card.country,
        "display_brand": card.brand,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "generated_from": None,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def payment_method(*, card: dict[str, Any], billing_details: dict[str, Any], metadata: dict[str, str],
                   customer: str | None = None) -> dict[str, Any]:
    return _base(
        "payment_method",
        new_id("pm"),
        allow_redisplay="unspecified",
        billing_details=billing_details,
        card=card,
        customer=customer,
        customer_account=None,
        metadata=metadata,
        type="card",
    )


def payment_intent(*, amount: int, currency: str, automatic_payment_methods: dict[str, Any] | None,
                   payment_method_types: list[str], customer: str | None, description: str | None,
                   receipt_email: str | None, setup_future_usage: str | None, metadata: dict[str, str],
                   payment_method: str | None) -> dict[str, Any]:
    pi_id = new_id("pi")
    return _base(
        "payment_intent",
        pi_id,
        amount=amount,
        amount_capturable=0,
        amount_details={"tip": {}},
        amount_received=0,
        application=None,
        application_fee_amount=None,
        automatic_payment_methods=automatic_payment_methods,
        canceled_at=None,
        cancellation_reason=None,
        capture_method="automatic",
        client_secret=f"{pi_id}_secret_{token(25)}",
        confirmation_method="automatic",
        currency=currency,
        customer=customer,
        customer_account=None,
        description=description,
        excluded_payment_method_types=None,
        last_payment_error=None,
        latest_charge=None,
        metadata=metadata,
        next_action=None,
        on_behalf_of=None,
        payment_method=payment_method,
        payment_method_configuration_details=None,
        payment_method_options={
            "card": {"installments": None, "mandate_options": None, "network": None,
                     "request_three_d_secure": "automatic"}
        },
        payment_method_types=payment_method_types,
        processing=None,
        receipt_email=receipt_email,
        review=None,
        setup_future_usage=setup_future_usage,
        shipping=None,
        source=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="requires_payment_method",
        transfer_data=None,
        transfer_group=None,
    )


def balance_transaction(*, amount: int, currency: str, source: str, kind: str, description: str | None,
                        fee: int = 0) -> dict[str, Any]:
    created = now()
    return {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 7 * 86400,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [
            {"amount": fee, "application": None, "currency": currency, "description": "Stripe processing fees",
             "type": "stripe_fee"}
        ] if fee else [],
        "net": amount - fee,
        "reporting_category": kind,
        "source": source,
        "status": "pending",
        "type": kind,
    }


def processing_fee(amount: int) -> int:
    # Stripe's standard European card pricing (1.5% + 25 minor units), near enough for a ledger.
    return round(amount * 0.015) + 25


def charge(*, payment_intent: dict[str, Any], payment_method: dict[str, Any], paid: bool,
           outcome: dict[str, Any], failure_code: str | None = None,
           failure_message: str | None = None, balance_transaction: str | None = None,
           three_d_secure: dict[str, Any] | None = None,
           payment_method_details: dict[str, Any] | None = None) -> dict[str, Any]:
    """`payment_method_details`: given for other methods than cards (stripe_emulator/bank.py)."""
    pi = payment_intent
    card = payment_method.get("card") or {}
    cvc_check = "fail" if failure_code == "incorrect_cvc" else "pass"
    return _base(
        "charge",
        new_id("ch"),
        amount=pi["amount"],
        amount_captured=pi["amount"] if paid else 0,
        amount_refunded=0,
        application=None,
        application_fee=None,
        application_fee_amount=None,
        balance_transaction=balance_transaction,
        billing_details=payment_method["billing_details"],
        calculated_statement_descriptor="STRIPE EMULATOR",
        captured=paid,
        currency=pi["currency"],
        customer=pi["customer"],
        description=pi["description"],
        disputed=False,
        failure_balance_transaction=None,
        failure_code=failure_code,
        failure_message=failure_message,
        fraud_details={},
        metadata=dict(pi["metadata"]),
        on_behalf_of=None,
        outcome=outcome,
        paid=paid,
        payment_intent=pi["id"],
        payment_method=payment_method["id"],
        payment_method_details=payment_method_details or {
            "card": {
                "amount_authorized": pi["amount"] if paid else None,
                "authorization_code": None,
                "brand": card["brand"],
                "checks": {**card["checks"], "cvc_check": cvc_check},
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "extended_authorization": {"status": "disabled"},
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": card["last4"],
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": card["brand"],
                "network_token": {"used": False},
                "network_transaction_id": None,
                "overcapture": {"maximum_amount_capturable": pi["amount"], "status": "unavailable"},
                "regulated_status": "unregulated",
                "three_d_secure": three_d_secure,
                "wallet": None,
            },
            "type": "card",
        },
        receipt_email=pi["receipt_email"],
        receipt_number=None,
        receipt_url=None,
        # No `refunds` list: Stripe left it out of charges in API version 2022-11-15.
        refunded=False,
        review=None,
        shipping=None,
        source=None,
        source_transfer=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="succeeded" if paid else "failed",
        transfer_data=None,
        transfer_group=None,
    )


def refund(*, charge: dict[str, Any], amount: int, reason: str | None, metadata: dict[str, str],
           status: str, balance_transaction: str | None) -> dict[str, Any]:
    return _base(
        "refund",
        new_id("re"),
        amount=amount,
        balance_transaction=balance_transaction,
        charge=charge["id"],
        currency=charge["currency"],
        customer=charge["customer"],
        customer_account=None,
        destination_details={"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number",
                                      "type": "refund"}, "type": "card"},
        failure_balance_transaction=None,
        failure_reason=None,
        metadata=metadata,
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        reason=reason,
        receipt_number=None,
        source_transfer_reversal=None,
        status=status,
        transfer_reversal=None,
    )


def dispute(*, charge: dict[str, Any]) -> dict[str, Any]:
    card = charge["payment_method_details"]["card"]
    evidence_fields = (
        "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
        "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
        "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
        "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt", "refund_policy",
        "refund_policy_disclosure", "refund_refusal_explanation", "service_date", "service_documentation",
        "shipping_address", "shipping_carrier", "shipping_date", "shipping_documentation",
        "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
    )
    return _base(
        "dispute",
        new_id("dp"),
        amount=charge["amount"],
        balance_transactions=[],
        charge=charge["id"],
        currency=charge["currency"],
        enhanced_eligibility_types=[],
        evidence={**dict.fromkeys(evidence_fields), "enhanced_evidence": {}},
        evidence_details={"due_by": now() + 7 * 86400, "enhanced_eligibility": {}, "has_evidence": False,
                          "past_due": False, "submission_count": 0},
        is_charge_refundable=False,
        metadata={},
        payment_intent=charge["payment_intent"],
        payment_method_details={"card": {"brand": card["brand"], "case_type": "chargeback",
                                         "network_reason_code": "10.4"}, "type": "card"},
        reason="fraudulent",
        status="needs_response",
    )


def event(*, kind: str, data: dict[str, Any], api_version: str, request_id: str | None,
          idempotency_key: str | None, pending_webhooks: int) -> dict[str, Any]:
    return _base(
        "event",
        new_id("evt"),
        account=None,
        api_version=api_version,
        data=data,
        pending_webhooks=pending_webhooks,
        request={"id": request_id, "idempotency_key": idempotency_key},
        type=kind,
    )


def webhook_endpoint(*, url: str, enabled_events: list[str], description: str | None,
                     metadata: dict[str, str], api_version: str | None) -> dict[str, Any]:
    return _base(
        "webhook_endpoint",
        new_id("we"),
        api_version=api_version,
        application=None,
        description=description,
        enabled_events=enabled_events,
        metadata=metadata,
        status="enabled",
        url=url,
    )


def list_of(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
