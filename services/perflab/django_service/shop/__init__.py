"""The Django app of the lab's Django service: models, templates, static files."""
