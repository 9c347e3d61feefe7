# syntax=docker/dockerfile:1
# Tide's scaler image, for people with Docker:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t tide-scaler .
#
# Without a Docker daemon, `make image` builds the same image (scratch, one
# layer with the CA bundle and one with /scaler and /scaler-kube, user
# 65532:65532) as an OCI layout under _output/image/oci; build/image's
# TestImage checks it. /scaler links no Kubernetes client; it execs
# /scaler-kube for explain and for serve with --hpa-awareness,
# --inference-discovery or --external-metrics-config.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/tide-scaler/tide/internal/version.version=${VERSION} -X github.com/tide-scaler/tide/internal/version.revision=${REVISION}" -o /out/ ./cmd/scaler ./cmd/scaler-kube

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/tide-scaler/tide" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.title="tide scaler"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 --chmod=0755 /out/scaler /out/scaler-kube /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/scaler"]
CMD ["serve"]
