"""Metrics, traces and logs of the lab's own services."""

# Scrapes and probes stay out of every service's RED metrics and traces: a scrape would
# count itself in flight (an idle service would look busy, and stuck to the throughput
# alert), make an idle service's request rate the scrape rate, and fill the trace store.
PROBE_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
