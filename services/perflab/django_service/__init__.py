"""The Django service: the lab's techniques as a Django project on the same data.

Served by gunicorn (gthread workers) on 127.0.0.1:8001. Layout:

    settings.py        Django settings, built from perflab's own Settings (PERFLAB_*)
    urls.py            the URL map: service endpoints + every technique's routes
    wsgi.py            the WSGI entry: JSON logs, tracing, then Django
    gunicorn_conf.py   gunicorn: workers, collectstatic, metrics clean-up per worker
    runtime.py         per-process state: the flag mirror, samplers, Redis, Celery client
    db/                the database backend: Django's postgresql, counting connections
    middleware/        telemetry (RED, statements per request, errors) and flagged gzip
    shop/              the Django app: models on the existing tables, templates, static
    techniques/        one module per technique, naive and optimised views

Flags are read from the shared Redis state (threaded mirror, as in the Celery
worker); they are set through the API's `PUT /flags`. A technique's variant is chosen
per request, settings-level choices included (two database aliases, two template
engines, a middleware chain applied only when a flag is off).
"""
