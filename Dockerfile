FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MARITIME_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 maritime

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are collected and the translation catalogues compiled at build time (DEBUG=1 only so that settings
# load without production secrets).
RUN DEBUG=1 MARITIME_VAR_DIR=/tmp/build python manage.py catalogues compile \
    && DEBUG=1 STATIC_MANIFEST=1 MARITIME_VAR_DIR=/tmp/build python manage.py collectstatic --noinput \
    && mkdir -p /app/var/documents && cp -r /tmp/build/static /app/var/static && rm -rf /tmp/build \
    && chown -R maritime /app/var

USER maritime
EXPOSE 8000
CMD ["gunicorn", "maritime.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
