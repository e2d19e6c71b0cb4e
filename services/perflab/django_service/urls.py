"""The URL map: the service's own endpoints, then every technique's routes.

Routes are Django `path()` patterns; the telemetry middleware labels metrics with the
resolved pattern in the API's style (`books/<int:book_id>` -> `/books/{book_id}`).
`<int:...>` also keeps `/books/catalog` and `/books/shelf` from being taken for ids.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from perflab.django_service import views
from perflab.django_service.techniques import REGISTRY

urlpatterns: list[URLPattern] = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("metrics", views.metrics),
    path("techniques", views.techniques),
    path("flags", views.flags),
    *(pattern for technique in REGISTRY.values() for pattern in technique.urlpatterns),
]
handler404 = views.not_found
handler500 = views.server_error
