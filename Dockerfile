# syntax=docker/dockerfile:1
#
# The cometa image: one binary, run as `cometa serve` (API, projector,
# scheduler) or `cometa runner` (needs the Chromium installed below).
# docker-compose.yml builds it for both services.

# --- build stage: the Go toolchain the module asks for (go.mod: go 1.26) ---
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=2.5.95-es.docker
RUN CGO_ENABLED=0 go build -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/cometa ./cmd/cometa

# --- runtime stage: Debian 12 with Debian's Chromium, as on the dev machines ---
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates chromium curl fonts-liberation tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/cometa --create-home cometa
COPY --from=build /out/cometa /usr/local/bin/cometa

USER cometa
WORKDIR /var/lib/cometa
ENV COMETA_LISTEN=0.0.0.0:8000 \
    COMETA_DATA_DIR=/var/lib/cometa \
    COMETA_BROWSER_BIN=/usr/bin/chromium
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/cometa"]
CMD ["serve"]
