# The ATS image for docker-compose.yml: two targets from one base.
#   worker: the Celery worker that delivers email, and the relay (what the deployed functions need, nothing more)
#   api:    the API on Chalice's local server without auto-reload (deploy/serve.py; adds chalice;
#           never a production server)
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt requirements-local.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py ./
COPY .chalice/config.json .chalice/config.json
COPY chalicelib chalicelib
COPY ats_functions ats_functions
# .ats/ is where dev keeps its JWT secret (and SQLite, mail); compose mounts a volume there.
RUN useradd --create-home --uid 10001 ats && mkdir -p /app/.ats && chown ats /app/.ats
USER ats

FROM base AS worker
CMD ["celery", "-A", "chalicelib.messaging.celery_app", "worker", "--pool=threads", "--concurrency=8", \
     "--without-mingle", "--without-gossip", "--loglevel=INFO"]

FROM base AS api
USER root
RUN pip install --no-cache-dir -r requirements-local.txt
COPY deploy/__init__.py deploy/serve.py deploy/
USER ats
EXPOSE 8000
CMD ["python", "-m", "deploy.serve", "--host", "0.0.0.0", "--port", "8000", "--stage", "dev"]
