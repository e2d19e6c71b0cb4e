"""The Django service's middleware: telemetry (outermost) and gzip switched by its flag."""
