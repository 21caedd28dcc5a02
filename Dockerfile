FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Any uvicorn run from this image refuses WebSocket frames over 64 KiB (as backend/settings.py).
ENV UVICORN_WS_MAX_SIZE=65536
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend backend
COPY pb pb
COPY deliberation deliberation
COPY feedback feedback
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-xxxxxxxxxxxx \
    python manage.py collectstatic --noinput -v0
RUN useradd --create-home commonpurse
USER commonpurse
EXPOSE 8000 8001
# HTTP: gunicorn threads on the WSGI app; docker-compose.yml runs uvicorn beside it for /ws/.
CMD ["gunicorn", "backend.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "3", "--threads", "4"]
