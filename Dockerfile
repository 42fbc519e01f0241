# The world server image. GPU hosts: build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/data/hf \
    TOWNSQUARE_DATA_DIR=/data \
    TOWNSQUARE_HOST=0.0.0.0 \
    TOWNSQUARE_PORT=8080

RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN pip install --index-url ${TORCH_INDEX} "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY server ./server
COPY ai ./ai
COPY migrations ./migrations
RUN pip install .
COPY client_web ./client_web
RUN if [ -f client_web/package.json ]; then cd client_web && npm ci --no-audit --no-fund && npm run build; fi

RUN useradd --create-home --uid 1000 townsquare && mkdir -p /data && chown townsquare /data
USER townsquare
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# `serve` migrates to head and seeds an empty world before it listens.
CMD ["townsquare", "serve"]
