# skilldock developer tasks.

GO       ?= go
FUZZTIME ?= 60s
BIN      := bin/skilldock

.PHONY: all build run test fuzz bench lint clean generate

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/skilldock

# Build every example skill (a folder under examples/ containing SKILL.md)
# into the default store, then list the builds.
run: build
	@set -e; for skill in examples/*/SKILL.md; do \
		[ -f "$$skill" ] || continue; \
		dir=$${skill%/SKILL.md}; \
		echo "==> ./$(BIN) build $$dir"; \
		./$(BIN) build "$$dir"; \
	done
	./$(BIN) builds

# Full test run against two real local registries (open and htpasswd auth),
# ending with a brief fuzz pass (same as `make fuzz FUZZTIME=5s`; the script
# is called directly so that `make -n test` does not run anything).
test:
	scripts/test-deps.sh
	scripts/with-registries.sh sh -ec '\
		$(GO) vet ./... ; \
		$(GO) test -race -count=1 -timeout 20m ./... ; \
		GO="$(GO)" FUZZTIME=5s scripts/fuzz.sh'

# Run every Fuzz* target in the module for FUZZTIME each.
fuzz:
	GO="$(GO)" FUZZTIME="$(FUZZTIME)" scripts/fuzz.sh

bench:
	scripts/test-deps.sh
	scripts/with-registries.sh $(GO) run ./bench

# Regenerate internal/api/openapi.json from the route table.
generate:
	$(GO) generate ./internal/api

lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin/
