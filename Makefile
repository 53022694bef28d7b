SHELL := /bin/bash
# bcbench — conformance test bench for Dutch birth-care data exchange.
# `make demo` builds bin/bcbench and runs it on the built-in reference candidate;
# `make test` runs the whole test suite and ends with "N passed, N failed".

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
SHARED  ?= $(abspath ../shared)
export CGO_ENABLED := 0
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: build demo test lint images bench clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/bcbench ./cmd/bcbench

# FHIR packages for profile validation: the HL7 and Nictiz packages of the
# shared corpus when it is beside the checkout (see README).
CORPUS   ?= $(SHARED)/corpus
PACKAGES ?= $(wildcard $(CORPUS)/hl7-fhir-core/4.0.1) $(wildcard $(CORPUS)/nictiz-r4-zib2020/resources) $(wildcard $(CORPUS)/nictiz-r4-mp9)

demo: build
	@rm -rf bcbench-out
	@echo "./bin/bcbench run --out bcbench-out $(addprefix --package ,$(PACKAGES))"; \
	  ./bin/bcbench run --out bcbench-out $(addprefix --package ,$(PACKAGES)); code=$$?; \
	  echo "report: $$(pwd)/bcbench-out/report.html (results.json, junit.xml, evidence/, results.dsse.json beside it)"; \
	  exit $$code

test:
	@set -o pipefail; $(GO) test -json -count=1 -timeout 12m ./... 2>&1 | $(GO) run ./.ci/testsum

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

images:
	bash images/build.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin bcbench-out
