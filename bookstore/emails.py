from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def email_from_templates(*, subject: str, template: str, context: dict, to: list[str]) -> EmailMultiAlternatives:
    """An email with a plain-text body and an HTML alternative, from `<template>.txt` and `.html`."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def attach_pdf(message: EmailMultiAlternatives, *, filename: str, stored_file) -> None:
    """Attach a stored PDF (a FileField's file) to `message`."""
    with stored_file.open("rb") as pdf:
        message.attach(filename, pdf.read(), "application/pdf")
