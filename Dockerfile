# The application image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AIOPS_VAR_DIR=/app/var

WORKDIR /app

# Runtime dependencies only, at the versions of the lock file.
COPY pyproject.toml requirements.lock ./
COPY aiops_site/__init__.py aiops_site/__init__.py
COPY pilots/__init__.py pilots/__init__.py
COPY feedback/__init__.py feedback/__init__.py
RUN pip install --no-cache-dir -c requirements.lock .

COPY . .
RUN python scripts/compile_messages.py \
    && DEBUG=0 SECRET_KEY=build-only-not-secret python manage.py collectstatic --no-input -v0 \
    && useradd --system --home /app app \
    && chown -R app /app/var

USER app
EXPOSE 8000
# Bind address, workers and an access log without answer tokens: see aiops_site/gunicorn.conf.py.
CMD ["gunicorn", "aiops_site.wsgi:application", "--config", "aiops_site/gunicorn.conf.py"]
