# srarena: `make up` runs the whole platform locally, `make test` runs every check.
SHELL := /bin/bash
GO ?= go
TEMPL_VERSION := v0.3.1100
TEMPL := $(GO) run github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION)
ORT_LIB := third_party/ort/libonnxruntime.so.1
BIN := bin/srarena
# SeaweedFS, the real S3 server of the tests; built from its own module
# (tools/weed) so srarena's go.mod never carries its dependencies.
WEED := .cache/tools/weed

.PHONY: all build up test ort weed axe validate-deploy bench-scale generate check-generate fmt-check vet bench clean

all: build

$(ORT_LIB):
	bash scripts/fetch-ort.sh third_party/ort

ort: $(ORT_LIB)

$(WEED): tools/weed/go.mod tools/weed/go.sum
	cd tools/weed && $(GO) build -o ../../$(WEED) github.com/seaweedfs/seaweedfs/weed

weed: $(WEED)

# axe-core, for the accessibility checks of the browser tests
# (web/browser_pages_test.go), into the git-ignored npm cache.
AXE := .cache/npm/node_modules/axe-core/axe.min.js
$(AXE):
	mkdir -p .cache/npm
	npm install --prefix .cache/npm --no-audit --no-fund --silent axe-core@4.11.0

axe: $(AXE)

# One stamp for the two programs of a build: srarena starts its small child
# program srarena-sandbox (a ~30 ms quicker sandbox start) only when both
# carry the same (runner/sandbox/exe.go); otherwise it starts itself.
STAMP := $(shell date +%s%N)
LDSTAMP := -X github.com/srarena/srarena/runner/sandbox.BuildStamp=$(STAMP)

build: ort
	CGO_ENABLED=1 $(GO) build -ldflags "$(LDSTAMP)" -o $(BIN) ./cmd/srarena
	CGO_ENABLED=1 $(GO) build -ldflags "$(LDSTAMP)" -o $(dir $(BIN))srarena-sandbox ./cmd/srarena-sandbox

up: build
	./$(BIN) up

# Regenerate templ components and the ONNX protobuf bindings.
generate:
	$(TEMPL) generate -path templates
	protoc -I onnxmodel/onnxpb --go_out=onnxmodel/onnxpb --go_opt=paths=source_relative \
		--go_opt=Monnx.proto=github.com/srarena/srarena/onnxmodel/onnxpb onnxmodel/onnxpb/onnx.proto

# CI fails when committed templ output is stale.
check-generate:
	@$(TEMPL) generate -path templates
	@if ! git diff --quiet -- templates || [ -n "$$(git ls-files --others --exclude-standard -- templates)" ]; then \
		echo "generated templ code is stale: run 'make generate' and commit"; git status --short -- templates; exit 1; fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# One PostgreSQL cluster and one S3 server for the whole run.
test: ort weed axe fmt-check vet check-generate validate-deploy
	$(GO) run ./internal/pgtest/pgtestd -- $(GO) run ./internal/s3test/s3testd -- \
		$(GO) test -race -count=1 -timeout 20m ./...

# docker-compose.yml and the Helm chart, checked by their own module
# (compose-go, Helm, Kubernetes API types stay out of srarena's go.mod).
validate-deploy:
	cd deploy/validate && $(GO) vet ./... && $(GO) test -count=1 ./...

bench: ort
	$(GO) test -run '^$$' -bench . -benchmem ./scoring/ ./onnxmodel/ ./runner/...

# Many workers on one PostgreSQL (README "Architecture: a thousand workers").
bench-scale: build
	$(GO) run ./bench/scale -srarena $(BIN) -workers 8,32,128

clean:
	rm -rf bin
