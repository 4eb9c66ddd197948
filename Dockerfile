# headroom container image: a multi-stage build. The build stage compiles the proxy on
# Debian 12; the runtime stage is debian:12-slim with the shared libraries only, a non-root
# user, the data dir (CCR store, tokenizer files) as a volume and a HEALTHCHECK on /livez.
#   docker build -t headroom .
#   docker run -d -p 127.0.0.1:8787:8787 -v headroom-data:/data headroom
# ML models are mounted, not baked in: -v /path/models:/models:ro (HEADROOM_EMBED_MODEL
# names the embedder file), or fetched into the volume with `headroom model import`.
# See docs/deployment.md ("Container") for the image size and the checks.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config \
      libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libhiredis-dev zlib1g-dev \
      libzstd-dev libjpeg62-turbo-dev libpng-dev libwebp-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src ./src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" --target headroom \
 && strip build/headroom

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd12 libcurl4 libsqlite3-0 \
      libhiredis0.14 zlib1g libzstd1 libjpeg62-turbo libpng16-16 libwebp7 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --no-log-init --no-create-home --uid 10001 --user-group --home-dir /data \
      --shell /usr/sbin/nologin headroom \
 && mkdir -p /data /models \
 && chown headroom:headroom /data
COPY --from=build /src/build/headroom /usr/local/bin/headroom
# In a container the proxy must listen on all of the container's interfaces to be reached
# through a published port; publish it on the host's loopback (-p 127.0.0.1:8787:8787).
ENV HEADROOM_HOST=0.0.0.0 \
    HEADROOM_PORT=8787 \
    HEADROOM_DATA_DIR=/data \
    HEADROOM_EMBED_MODEL=/models/embedder.hrm
VOLUME ["/data"]
USER headroom
WORKDIR /data
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/headroom", "probe", "/livez"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/headroom"]
CMD ["proxy"]
