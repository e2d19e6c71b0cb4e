"""The Celery worker: app, tasks, and its view of the flags."""
