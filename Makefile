# make test     the whole suite, as CI runs it (scripts/test)
# make fuzz     every go test -fuzz target, one after the other, FUZZTIME each
# make bench    the testing.B benchmarks
# make packages the .deb, the .rpm and the hub's container image in dist/ (scripts/package)

FUZZTIME ?= 60s
BENCHTIME ?= 1s

.PHONY: test fuzz bench packages

test:
	scripts/test

fuzz:
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=$$(dirname $$file); \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$dir $$name ($(FUZZTIME))"; \
			go test -run XXX -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

bench:
	go test -run XXX -bench . -benchmem -benchtime $(BENCHTIME) ./...

packages:
	scripts/package
