# One image with the three binaries: generator, loader, api.
# Build: docker build -t dwh-loader .   (no database is needed at build time)

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src

# Dependency layer: build the workspace's dependencies against stub sources, so that
# editing the project's code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY generator/Cargo.toml generator/Cargo.toml
COPY loader/Cargo.toml loader/Cargo.toml
COPY api/Cargo.toml api/Cargo.toml
COPY common/Cargo.toml common/Cargo.toml
# testkit is a workspace member (the tests' fixtures): cargo needs its manifest to load the
# workspace; the image never builds it (only --bins below).
COPY testkit/Cargo.toml testkit/Cargo.toml
RUN for crate in generator loader api; do \
        mkdir -p $crate/src && echo 'fn main() {}' > $crate/src/main.rs && touch $crate/src/lib.rs; \
    done \
    && mkdir -p migrations testkit/src common/src && touch testkit/src/lib.rs common/src/lib.rs \
    && cargo build --release --locked --bins \
    && rm -rf generator/src loader/src api/src common/src

COPY migrations migrations
COPY common common
COPY generator generator
COPY loader loader
COPY api api
COPY openapi openapi
# Stub artefacts are older than the real sources; touch makes cargo rebuild the crates.
RUN touch common/src/* generator/src/* loader/src/* api/src/* \
    && cargo build --release --locked --bins \
    && cp target/release/generator target/release/loader target/release/api /usr/local/bin/

FROM debian:bookworm-20250428-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /app app \
    && mkdir -p /data && chown app:app /data
COPY --from=build /usr/local/bin/generator /usr/local/bin/loader /usr/local/bin/api /usr/local/bin/
USER app
WORKDIR /app
ENV DATA_DIR=/data BIND=0.0.0.0:8080 LOG_FORMAT=json
EXPOSE 8080
CMD ["api"]
