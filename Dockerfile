# The bot for a container platform (Azure App Service, Container Apps): gunicorn runs
# $WEB_CONCURRENCY workers of aiohttp's kind (bot.web.worker) on $PORT. README: "Containers".
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The locked versions first, with their hashes: a layer that changes only with the lock file.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md app.py ./
COPY bot bot
COPY dialogs dialogs
COPY graph graph
COPY manifest manifest
COPY sandbox sandbox
RUN pip install --no-deps . \
    && useradd --system --create-home --uid 10001 meet \
    && mkdir /data && chown meet /data

USER meet
# PORT: gunicorn listens on 0.0.0.0:$PORT. DATA_DIR: keep it on a volume (or use PostgreSQL).
# WEB_CONCURRENCY: gunicorn's worker count.
ENV PORT=8000 \
    DATA_DIR=/data \
    WEB_CONCURRENCY=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/healthz', timeout=4)"]
CMD ["gunicorn", "--worker-class", "bot.web.worker.Worker", "--graceful-timeout", "30", "app:gunicorn_app"]
