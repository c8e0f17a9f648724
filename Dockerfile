# iotcloud container image (docs/operations.md "Docker").
#   docker build -t iotcloud .
#   docker run -d -p 8883:8883 -p 8443:8443 -v iotcloud-data:/var/lib/iotcloud iotcloud
# Two stages: the build stage has the compilers and the dashboard's node toolchain; the
# runtime stage is Debian 12 slim with the shared libraries only, run as a non-root user.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN apt-get update && bash scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DIOT_TESTS=OFF -DIOT_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" \
 && DESTDIR=/install cmake --install /build --prefix /usr

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libuv1 libssl3 libbson-1.0-0 libmongoc-1.0-0 libsqlite3-0 \
      libargon2-1 libcurl4 libsystemd0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 iotcloud \
 && useradd --system --uid 10001 --gid iotcloud --home-dir /var/lib/iotcloud \
      --shell /usr/sbin/nologin iotcloud
COPY --from=build /install/usr/bin/iotcloud /usr/bin/iotcloud
COPY --from=build /install/usr/share/man/man1/iotcloud.1.gz /usr/share/man/man1/
COPY --from=build /install/etc/iotcloud/iotcloud.conf /etc/iotcloud/iotcloud.conf
RUN install -d -o iotcloud -g iotcloud -m 0700 /var/lib/iotcloud
USER 10001:10001
VOLUME ["/var/lib/iotcloud"]
EXPOSE 8883 8443
# the packaged config's loopback HTTP listener answers /healthz inside the container
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/iotcloud", "--config", "/etc/iotcloud/iotcloud.conf"]
CMD ["--data-dir", "/var/lib/iotcloud"]
