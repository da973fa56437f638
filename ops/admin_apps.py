"""The admin app with the shop's own site (ops/admin_site.py), as Django's docs override the default site.

Listed in INSTALLED_APPS in place of "django.contrib.admin". Its own module because INSTALLED_APPS
imports it before the models are ready; the site itself is imported later, when `admin.site` is
first used.
"""

from django.contrib.admin.apps import AdminConfig


class ShopAdminConfig(AdminConfig):
    default_site = "ops.admin_site.ShopAdminSite"
