# federation — container image. Build: docker build -t federation .
# Migrate first (serve refuses an unmigrated database), then run (config in
# ./config/federation.toml, data in a named volume):
#   docker run --rm -v "$PWD/config:/etc/federation:ro" -v federation-data:/var/lib/federation \
#     federation federation --config /etc/federation/federation.toml migrate
#   docker run -d -p 127.0.0.1:8080:8080 -v "$PWD/config:/etc/federation:ro" \
#     -v federation-data:/var/lib/federation federation
# See docs/deploy.md. Compose (PostgreSQL, a separate worker): compose.yaml.
#
# The base image: pin it by digest for reproducible builds, e.g.
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> -t federation .
# (`docker buildx imagetools inspect python:3.11-slim` prints the current digest).
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: install the locked dependencies (hashes checked), then the wheel, into a venv --
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/main.txt ./requirements/main.txt
RUN python -m venv /opt/federation
RUN /opt/federation/bin/pip install --require-hashes -r requirements/main.txt
COPY pyproject.toml README.md ./
COPY federation ./federation
COPY config/federation.example.toml /opt/federation/share/federation/federation.example.toml
RUN /opt/federation/bin/pip wheel --no-deps --wheel-dir /wheels .
RUN /opt/federation/bin/pip install --no-deps /wheels/federation-*.whl

# --- runtime: the venv only, a non-root user, config and data as volumes --------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.0.0
LABEL org.opencontainers.image.title="federation" \
      org.opencontainers.image.description="ActivityPub publishing bridge for open-publishing news sites" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.documentation="docs/deploy.md"
RUN groupadd --system --gid 10001 federation \
    && useradd --system --uid 10001 --gid federation --home-dir /var/lib/federation \
       --shell /usr/sbin/nologin federation \
    && mkdir -p /etc/federation /var/lib/federation \
    && chown federation:federation /var/lib/federation && chmod 0700 /var/lib/federation
COPY --from=builder /opt/federation /opt/federation
ENV PATH=/opt/federation/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FEDERATION_DATA_DIR=/var/lib/federation \
    FEDERATION_SERVER__HOST=0.0.0.0 \
    FEDERATION_SERVER__PORT=8080
USER federation
WORKDIR /var/lib/federation
VOLUME ["/etc/federation", "/var/lib/federation"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
CMD ["federation", "--config", "/etc/federation/federation.toml", "serve"]
