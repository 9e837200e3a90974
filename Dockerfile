# ftps-scan container image: a static-ish release binary on Debian slim,
# with CA certificates (for --trust system) and a non-root user.
#   docker build -t registry.example/ftps-scan:latest .
#   docker run --rm registry.example/ftps-scan:latest --help

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The JSON Schema is compiled into the binary (include_str!).
COPY schema ./schema
# The dist profile: the release profile with fat LTO (see Cargo.toml).
RUN cargo build --profile dist --locked --bin ftps-scan \
 && strip target/dist/ftps-scan

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin ftps-scan
COPY --from=build /src/target/dist/ftps-scan /usr/local/bin/ftps-scan
USER 10001:10001
WORKDIR /out
ENTRYPOINT ["/usr/local/bin/ftps-scan"]
CMD ["--help"]
