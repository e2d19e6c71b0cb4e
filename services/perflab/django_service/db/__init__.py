"""The Django service's database backend: Django's postgresql backend, counted."""
