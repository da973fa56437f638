app_name = "payments"

urlpatterns: list = []

# Receipt downloads (issue 5); the routes live in payments/receipt_urls.py.
from payments.receipt_urls import urlpatterns as receipt_urlpatterns  # noqa: E402

urlpatterns += receipt_urlpatterns
