from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "perflab.django_service.shop"
    label = "shop"
    verbose_name = "perflab bookshop"
