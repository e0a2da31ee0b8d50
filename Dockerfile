# The two images of topdog-observe from one file, one target each:
#   docker build --target exporter -t topdog-exporter:0.1.0 .
#   docker build --target advisor  -t topdog-advisor:0.1.0 .
# (deploy/doks/up.sh builds both for linux/amd64 and pushes them to the cluster's registry.) One file because
# both binaries build from the same tree with the same Debian packages; BuildKit builds only the stages a target
# needs. The build stages install Debian 12's -dev packages (scripts/bootstrap.sh build_pkgs without the test-only
# ones) and build one binary, Release, no tests. The runtime stages are Debian 12 slim plus exactly the packages
# of the shared libraries the binary links (libstdc++ and libgcc are linked in statically), installed from
# Debian's archive so security updates apply with a rebuild; tests/deploy/dockerfile_test.py checks the list
# against `ldd` of a fresh build. Non-root (uid/gid 65532), exec-form entry point (no shell involved), nothing
# written at run time: both run with a read-only root file system; the exporter's access-log position file and
# the advisor's snapshot (embedded mode only) go to volumes the manifests mount.

FROM debian:12.11 AS build-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      prometheus-cpp-dev libboost-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev libexpected-dev \
      libssl-dev libcrypt-dev zlib1g-dev nlohmann-json3-dev libeigen3-dev libcurl4-openssl-dev libre2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY exporter exporter
COPY advisor advisor
# The top-level CMakeLists.txt adds bench/ (two benchmark executables, not built here).
COPY bench/CMakeLists.txt bench/advisor_reconcile_bench.cc bench/embedded_memory_bench.cc bench/
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOPDOG_BUILD_TESTS=OFF

FROM build-base AS build-exporter
RUN cmake --build build --target topdog-exporter

FROM build-base AS build-advisor
RUN cmake --build build --target topdog-advisor

# topdog-exporter: the DaemonSet's image. Links libc, libcrypt (bcrypt for basic auth), OpenSSL (TLS), zlib (gzip).
FROM debian:12.11-slim AS exporter
ARG VERSION=0.1.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends libc6 libcrypt1 libssl3 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-exporter /src/build/exporter/topdog-exporter /usr/bin/topdog-exporter
LABEL org.opencontainers.image.title="topdog-exporter" \
      org.opencontainers.image.description="node_exporter-compatible node metrics, gateway and backend collectors" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:12.11-slim"
USER 65532:65532
EXPOSE 9100
ENTRYPOINT ["/usr/bin/topdog-exporter"]

# topdog-advisor: the Deployment's image. Also libcurl (Prometheus, Kubernetes and DigitalOcean APIs, Alertmanager).
# `topdog-advisor backtest` draws its plots with gnuplot, which is not in the image: the daemon (`run`) does not.
FROM debian:12.11-slim AS advisor
ARG VERSION=0.1.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends libc6 libcrypt1 libssl3 zlib1g libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-advisor /src/build/advisor/topdog-advisor /usr/bin/topdog-advisor
LABEL org.opencontainers.image.title="topdog-advisor" \
      org.opencontainers.image.description="Forecasting autoscaling advisor: retunes HPAs and DOKS node-pool bounds" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:12.11-slim"
USER 65532:65532
EXPOSE 9101
ENTRYPOINT ["/usr/bin/topdog-advisor"]
CMD ["run", "--config=/etc/topdog-advisor/config.yaml"]
