"""Celery tasks for orders: thin, idempotent wrappers around services."""

from celery import shared_task

from orders.services import order_expire_unpaid


@shared_task(name="orders.release_expired_reservations")
def release_expired_reservations_task() -> None:
    order_expire_unpaid()
