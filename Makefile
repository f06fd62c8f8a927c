# srarena: `make up` runs the whole platform locally, `make test` runs every check.
SHELL := /bin/bash
GO ?= go
TEMPL_VERSION := v0.3.1100
TEMPL := $(GO) run github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION)
ORT_LIB := third_party/ort/libonnxruntime.so.1
BIN := bin/srarena

.PHONY: all build up test ort generate check-generate fmt-check vet bench clean

all: build

$(ORT_LIB):
	bash scripts/fetch-ort.sh third_party/ort

ort: $(ORT_LIB)

build: ort
	CGO_ENABLED=1 $(GO) build -o $(BIN) ./cmd/srarena

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

test: ort fmt-check vet check-generate
	$(GO) run ./internal/pgtest/pgtestd -- $(GO) test -race -count=1 -timeout 20m ./...

bench: ort
	$(GO) test -run '^$$' -bench . -benchmem ./scoring/ ./onnxmodel/ ./runner/...

clean:
	rm -rf bin
