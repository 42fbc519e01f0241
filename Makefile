# `make run` serves the world; `make test` runs the whole suite. Both set up what they need.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CLIENT_SRC := $(shell find client_web/src client_web/index.html client_web/admin.html client_web/package.json client_web/package-lock.json client_web/vite.config.* -type f 2>/dev/null)

.PHONY: run test lint client chromium bench screenshots clean-venv

run: $(STAMP) client
	$(BIN)/townsquare serve

# The linter runs first: CI (`.ci/run` = `make test`) fails on a lint error as on a failing test.
test: lint client chromium
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check server ai tests bench migrations tools

# torch first, from the pinned CPU wheel: the project's own pin then installs nothing more,
# so CI never pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

client: client_web/dist/.built

client_web/dist/.built: $(CLIENT_SRC)
	@if [ -f client_web/package.json ]; then \
		cd client_web && npm ci --no-audit --no-fund --loglevel=error && npm run build && touch dist/.built; \
	else mkdir -p client_web/dist && touch client_web/dist/.built; fi

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
chromium:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
		else sudo -n sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'; fi; } \
		|| echo "chromium could not be installed: browser tests will fail"

# The browser tests write their screenshots into docs/screenshots/ (the README's and docs' images)
# instead of test-artifacts/screenshots/.
screenshots: $(STAMP) client chromium
	TOWNSQUARE_TEST_SCREENSHOTS=1 $(BIN)/pytest -p no:cacheprovider tests/browser

bench: $(STAMP) client
	$(BIN)/python bench/run_all.py

# Faults under load (tests/chaos): the fast cases (Redis outage, a node killed, fencing) run in `make test`
# too; the heavy ones (PostgreSQL restarts, the postmaster killed, a full disk on a root-mounted tmpfs)
# only here. Measured figures go to test-artifacts/chaos-figures.jsonl.
.PHONY: chaos
chaos: $(STAMP)
	TOWNSQUARE_TEST_CHAOS=1 $(BIN)/pytest tests/chaos

clean-venv:
	rm -rf $(VENV)
