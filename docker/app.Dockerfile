# perflab's API, Django service, Celery worker and seed job: one image, four commands
# (compose.yaml).
#   docker build -f docker/app.Dockerfile -t perflab/app .
# Offline: scripts/docker-standins fills docker/wheelhouse; build with PIP_OFFLINE=1.
ARG BASE_IMAGE=python:3.11.10-slim-bookworm

# Dependencies first, in their own stage: this layer is rebuilt only when pyproject.toml
# or the wheelhouse changes, not when the code does.
FROM ${BASE_IMAGE} AS deps
ARG PIP_OFFLINE=0
COPY docker/requirements.py pyproject.toml uv.lock /build/
COPY docker/wheelhouse/ /wheelhouse/
RUN python3 /build/requirements.py /build/pyproject.toml \
        --lock /build/uv.lock --constraints-out /build/constraints.txt --exclude locust,matplotlib \
        > /build/requirements.txt \
    && python3 -m venv /opt/venv \
    && if [ "$PIP_OFFLINE" = 1 ]; then set -- --no-index; else set --; fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        --find-links /wheelhouse "$@" -r /build/requirements.txt

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin perflab
COPY --from=deps /opt/venv /opt/venv
COPY docker/healthcheck.py docker/seed.py /app/bin/
COPY services/ /app/services/
# The code runs from source (PYTHONPATH): nothing to build, and the dependency layer
# above stays cached.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/services \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER perflab
EXPOSE 8000 8001 9808
CMD ["uvicorn", "perflab.api.app:app_factory", "--factory", "--host", "0.0.0.0", "--port", "8000"]
