# The two commands a fresh machine needs are `make demo` and `make test`; the rest serve them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-data

.PHONY: demo test lint bench install constraints wheel extract update compile clean system-packages

PINS_VENV := .venv-pins

# Every dependency installs at the exact version constraints.txt pins, so a fresh clone tests what we
# tested; the build tools too (setuptools and wheel are pinned there), so `make wheel` builds with them.
# The `report` extra (matplotlib, jinja2) is in, for `make demo`'s report and the tests; a kiosk goes without.
# So is `web` (textual-serve), for `assist kiosk serve` and its tests.
$(STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt setuptools wheel
	$(BIN)/pip uninstall --quiet --yes assist 2>/dev/null || true  # this project under its old distribution name
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,report,web]'
	touch $(STAMP)

install: $(STAMP) compile

# Refresh the pins: install the newest versions pyproject.toml allows in a scratch venv and freeze them.
constraints:
	rm -rf $(PINS_VENV)
	$(PYTHON) -m venv $(PINS_VENV)
	$(PINS_VENV)/bin/pip install --quiet --upgrade pip setuptools wheel
	$(PINS_VENV)/bin/pip install --quiet -e '.[dev,report,web]'
	{ echo '# Exact versions `make install`, `make wheel` and the deploy guide use (pip constraints). Refresh with `make constraints`.'; \
	  $(PINS_VENV)/bin/pip freeze --all --exclude-editable | grep -v '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(PINS_VENV)

# Translations: extract the source strings, merge them into every language, compile the .mo files.
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k NP_:1,2 -c TRANSLATORS: --no-location --sort-output \
	  --project assist --msgid-bugs-address "" -o locales/messages.pot .

update: extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

compile: $(STAMP)
	$(BIN)/pybabel compile --domain messages --directory locales

# Debian packages the tests drive, installed here when missing, as root (CI starts with nothing): chromium for
# the browser tests (never a browser Playwright downloads), nginx-light for the reverse-proxy example's test,
# libfribidi0 for the printed slips in right-to-left scripts; npm (Debian's nodejs and npm, where the machine has
# none) for axe-core. Elsewhere those tests are skipped, except under CI=true.
SYSTEM_PACKAGES := chromium nginx-light libfribidi0
system-packages:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) </dev/null; \
	else echo "some tests need Debian's $(SYSTEM_PACKAGES): sudo apt-get install $(SYSTEM_PACKAGES)" >&2; fi
	@if command -v npm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm </dev/null; \
	else echo "the accessibility test needs npm: sudo apt-get install nodejs npm" >&2; fi

# axe-core, the accessibility checker the fleet pages' browser test runs (tests/fleet/test_fleet_browser.py), from
# the npm registry at the version package-lock.json pins; node_modules/ is not committed. Missing, that test is
# skipped, except under CI=true.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "the accessibility test needs axe-core: npm ci (npm from Debian's nodejs and npm)" >&2; fi

# Lint (ruff), the layers (import-linter's contracts in pyproject.toml), types (mypy, strict on sync/),
# then the whole suite on every core. `.venv/bin/python -m pytest -m "not slow"` is the quick part.
test: install lint system-packages $(AXE)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The wheel a kiosk installs (deploy/README.md), built by the pinned setuptools in the venv.
wheel: install
	rm -rf build
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation -w dist .

bench: install
	$(BIN)/python bench/run.py

demo: install
	$(BIN)/assist demo --dir $(DEMO_DIR)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist *.egg-info node_modules
