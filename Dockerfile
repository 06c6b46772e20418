# federation — container image. Build: docker build -t federation .
# Migrate first (serve refuses an unmigrated database), then run (config in
# ./config/federation.toml, data in a named volume):
#   docker run --rm -v "$PWD/config:/etc/federation:ro" -v federation-data:/var/lib/federation \
#     federation federation --config /etc/federation/federation.toml migrate
#   docker run -d -p 127.0.0.1:8080:8080 -v "$PWD/config:/etc/federation:ro" \
#     -v federation-data:/var/lib/federation federation
# See docs/deploy.md.

# --- builder: build the wheel and install it with its dependencies into a venv --------------
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY federation ./federation
RUN python -m venv /opt/federation
COPY config/federation.example.toml /opt/federation/share/federation/federation.example.toml
RUN /opt/federation/bin/pip wheel --no-deps --wheel-dir /wheels .
RUN /opt/federation/bin/pip install /wheels/federation-*.whl

# --- runtime: the venv only, a non-root user, config and data as volumes --------------------
FROM python:3.11-slim
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
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/.well-known/nodeinfo', timeout=4)"]
CMD ["federation", "--config", "/etc/federation/federation.toml", "serve"]
