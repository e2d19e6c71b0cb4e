"""Pure ASGI middleware (no BaseHTTPMiddleware: this lab is about speed)."""
