# Mailwarden: `make demo` runs the main job on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install i18n demo demo-serve test lint js system-deps bench clean xpi screenshots msi

install: $(VENV)/.installed i18n

$(VENV)/.installed: pyproject.toml
	bash scripts/system-deps.sh install
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	# Branches that add strings merge their catalogues by key (.gitattributes; docs/i18n.md).
	-git config merge.catalogue.driver '.venv/bin/python scripts/i18n.py merge-file %O %A %B' 2>/dev/null
	touch $@

# The message catalogue: companion/locale/*.po compiled to the .mo files the code reads (an
# editable install has no package build to do it); docs/i18n.md.
CATALOGUE_SOURCES := companion/locale/mailwarden.pot $(wildcard companion/locale/*/LC_MESSAGES/*.po)
CATALOGUE := companion/locale/en/LC_MESSAGES/mailwarden.mo companion/locale/zh_CN/LC_MESSAGES/mailwarden.mo
i18n: $(CATALOGUE)

$(CATALOGUE) &: $(CATALOGUE_SOURCES) scripts/i18n.py | $(VENV)/.installed
	$(BIN)/python scripts/i18n.py compile

# A demo collector on 127.0.0.1, and `mailwarden demo` (the workstation's part) run against it.
demo: install
	$(BIN)/mailwarden-collector demo

# The same, keeping the demo collector and its dashboard up until Ctrl-C.
demo-serve: install
	$(BIN)/mailwarden-collector demo --serve

# Every window of the dashboard and the tray, in Chinese and English, as PNG under docs/screenshots/.
screenshots: install
	$(BIN)/python scripts/dashboard_screenshots.py docs/screenshots
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/extension_screenshots.py

system-deps:
	bash scripts/system-deps.sh test

# The Thunderbird extension's linter and unit tests: ESLint pinned in package.json/package-lock.json.
js: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	bash scripts/system-deps.sh node
	npm ci --no-audit --no-fund
	touch $@

lint: install js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx --no-install eslint --max-warnings 0 .

test: install system-deps lint
	node --test tests/js/
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_check.py
	$(BIN)/python benchmarks/bench_native_host.py
	$(BIN)/python benchmarks/bench_collector.py
	$(BIN)/python benchmarks/bench_tray.py
	$(BIN)/python benchmarks/bench_pii.py
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python benchmarks/bench_quoted.py
	$(BIN)/python benchmarks/bench_evidence.py

# The Thunderbird extension as an installable .xpi (dist/mailwarden-thunderbird-<version>.xpi).
xpi:
	$(PYTHON) thunderbird_ext/build_xpi.py --out dist

# The Windows MSI, built on Linux: dist/Mailwarden-<version>-x64.msi (docs/deploy.md).
# Its tests (tables, and install/upgrade/uninstall under wine) are part of `make test`.
msi: install
	bash scripts/system-deps.sh msi
	$(BIN)/python installer/build.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache node_modules
