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

.PHONY: build demo test lint images bench clean packages chromium

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/bcbench ./cmd/bcbench

# `make demo` needs nothing beside the checkout: the FHIR packages the
# default profile pins are embedded in the binary (profiles/registry/packages).
demo: build
	@rm -rf bcbench-out
	@echo "./bin/bcbench run --out bcbench-out"; \
	  ./bin/bcbench run --out bcbench-out; code=$$?; \
	  echo "report: $$(pwd)/bcbench-out/report.html (results.json, junit.xml, evidence/, results.dsse.json beside it)"; \
	  if [ $$code -ne 0 ]; then echo "make demo: bcbench run ended with exit code $$code (1: verdict fail or incomplete, 2: the bench could not run; the reason is above)"; fi; \
	  exit $$code

# Regenerate the embedded FHIR packages from ../shared/corpus (reproducible:
# the same corpus gives the same sha256, see docs/validation.md).
packages:
	cd profiles/registry && $(GO) run ./internal/pack -corpus $(SHARED)/corpus -out packages

# The browser checks (bcbench wcag, the ACT Rules measurement) need Debian's
# chromium; without it they skip with the reason.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser checks"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "note: chromium could not be installed; the browser tests will skip with the reason"; }

test: chromium
	@set -o pipefail; $(GO) test -json -count=1 -timeout 25m ./... ./.ci/testsum 2>&1 | $(GO) run ./.ci/testsum

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

images:
	bash images/build.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin bcbench-out
