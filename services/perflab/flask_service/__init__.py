"""The Flask service: Flask 3 with the SQLAlchemy 2.0 ORM on the lab's tables, served by
gunicorn (`app.py` has the application factory, `techniques/` one module per technique,
`telemetry.py` the RED metrics and `X-DB-Queries`, `db.py` the engines and SQL counts).
"""
