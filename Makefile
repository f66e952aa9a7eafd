# The two commands a fresh machine needs are `make demo` and `make test`; the rest serve them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-data

.PHONY: demo test bench install extract update compile clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=70" wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) compile

# Translations: extract the source strings, merge them into every language, compile the .mo files.
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k NP_:1,2 -c TRANSLATORS: --no-location --sort-output \
	  --project assist --msgid-bugs-address "" -o locales/messages.pot .

update: extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

compile: $(STAMP)
	$(BIN)/pybabel compile --domain messages --directory locales

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python bench/run.py

demo: install
	$(BIN)/assist demo --dir $(DEMO_DIR)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist *.egg-info
