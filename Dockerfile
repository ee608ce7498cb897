# syntax=docker/dockerfile:1
# One image for every role (`qspp serve --role …`): a static-stdlib release build made with the
# official Swift image by scripts/dev/build-static.sh (the same script the test command runs natively),
# run on Debian slim as a non-root user. Run it with a read-only root filesystem, e.g.
#   docker run --read-only --tmpfs /tmp -e QSPP_DATABASE_URL=postgres://… -e QSPP_MASTER_KEY_FILE=/run/secrets/master.key qspp
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libargon2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources Sources
# The manifest names the test targets too; SwiftPM refuses a manifest whose target folders are missing.
COPY Tests Tests
COPY scripts scripts
RUN scripts/dev/build-static.sh /out

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libargon2-1 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin qspp
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
ENV QSPP_HOST=0.0.0.0 QSPP_PORT=8080 QSPP_LOG_LEVEL=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${QSPP_PORT}/ready" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/qspp"]
CMD ["serve"]
