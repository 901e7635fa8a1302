# Two entry points for people (README): `make run` and `make test`. Everything they need is
# installed into node_modules/ and .cache/ (gitignored) on first use and reused after.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.cache/bin:$(PATH)

LISTEN ?= 127.0.0.1:10000
METRICS ?= 127.0.0.1:9464

.PHONY: run test deps build lint typecheck unit bench eval clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

dist/.built: node_modules/.installed $(shell find cli.ts commands.ts authz operator -name '*.ts' ! -name '*.test.ts' 2>/dev/null)
	npm run build
	@touch $@

build: dist/.built

deps: node_modules/.installed
	bash scripts/install-deps.sh

run: build
	node dist/cli.js demo --config examples/ --listen $(LISTEN) --metrics-listen $(METRICS)

lint: node_modules/.installed
	npm run lint

typecheck: node_modules/.installed
	npm run typecheck

test: deps build
	npm run lint
	npm run typecheck
	npm test

bench: build
	npm run bench

eval: node_modules/.installed
	npm run eval:detection

clean:
	rm -rf dist node_modules/.installed
