# One image for web and worker. The worker needs cgo and libonnxruntime;
# for the GPU variant, mount or bake an ORT-GPU build (core + CUDA providers
# of one version >= 1.30, see shared/design/ort.md §6) and set ONNXRUNTIME_LIB.
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# srarena and its child program srarena-sandbox with one build stamp
# (runner/sandbox/exe.go): srarena starts the small one only then.
RUN bash scripts/fetch-ort.sh /out/ort && LD="-X github.com/srarena/srarena/runner/sandbox.BuildStamp=$(date +%s%N)" \
    && CGO_ENABLED=1 go build -trimpath -ldflags "$LD" -o /out/srarena ./cmd/srarena \
    && CGO_ENABLED=1 go build -trimpath -ldflags "$LD" -o /out/srarena-sandbox ./cmd/srarena-sandbox

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/srarena srarena && mkdir -p /var/lib/srarena && chown srarena /var/lib/srarena
COPY --from=build /out/srarena /out/srarena-sandbox /usr/local/bin/
COPY --from=build /out/ort/libonnxruntime.so.1 /usr/local/lib/srarena/libonnxruntime.so.1
ENV ONNXRUNTIME_LIB=/usr/local/lib/srarena/libonnxruntime.so.1 \
    SRARENA_DATA_DIR=/var/lib/srarena \
    SRARENA_ADDR=0.0.0.0:8080
USER srarena
EXPOSE 8080
ENTRYPOINT ["srarena"]
CMD ["serve"]
