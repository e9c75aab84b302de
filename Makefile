# The README's two commands: `make run` (bot in sandbox mode + Agents Playground) and `make test`.
# `make test-lowest` runs the suite on the lowest versions pyproject.toml allows (.ci/run does too);
# `make lock` writes requirements.lock, which deployments install from.
# `make run ARGS="--playground-port 56200"` passes options on to `python -m sandbox.playground`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
# pip's output goes to this file; if pip fails, its last INSTALL_LOG_TAIL lines are shown
# (.ci/run shows all of it with INSTALL_LOG_TAIL=+1).
INSTALL_LOG := $(VENV)/install.log
INSTALL_LOG_TAIL ?= 40
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input

# The lowest direct versions: every dependency of pyproject.toml at its lower bound, what they
# need at its newest. Its own venv, so .venv keeps the newest versions. --compile-bytecode as pip
# does: recognizers-text (botbuilder-dialogs) compiled at import warns, and the suite makes
# warnings errors.
LOWEST ?= .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed
LOWEST_LOG := $(LOWEST)/install.log
UV := $(BIN)/uv pip

.PHONY: run test test-lowest lock postgres-binaries

$(STAMP): pyproject.toml
	@echo "Installing the bot and its test tools into $(VENV) (pip's output: $(INSTALL_LOG))"
	@$(PYTHON) -m venv $(VENV)
	@{ $(PIP) install --quiet --upgrade pip && $(PIP) install --quiet -e '.[test]'; } \
		>$(INSTALL_LOG) 2>&1 || { \
		tail -n $(INSTALL_LOG_TAIL) $(INSTALL_LOG) >&2; \
		echo "pip failed: its whole output is in $(INSTALL_LOG)" >&2; \
		exit 1; }
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m sandbox.playground $(ARGS)

# The PostgreSQL tests start a throwaway server with this machine's initdb and pg_ctl. Missing,
# they are installed where that needs no questions (root with apt-get); elsewhere those tests
# fail saying how to install them.
postgres-binaries:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		&& [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing PostgreSQL's server binaries for the tests (apt-get install postgresql)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends postgresql; } >/dev/null; \
	fi

test: $(STAMP) postgres-binaries
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The Playground tests (tests/e2e) are left out here: they exercise the bot as `make test` does,
# and leaving them out keeps .ci/run, which runs both targets, short.
test-lowest: $(LOWEST_STAMP) postgres-binaries
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider --ignore=tests/e2e

$(LOWEST_STAMP): pyproject.toml $(STAMP)
	@echo "Installing the lowest versions pyproject.toml allows into $(LOWEST) (output: $(LOWEST_LOG))"
	@rm -rf $(LOWEST) && $(PYTHON) -m venv $(LOWEST)
	@{ $(UV) compile pyproject.toml --extra test --resolution lowest-direct \
		--python $(LOWEST)/bin/python -o $(LOWEST)/requirements.txt \
		&& $(UV) sync --python $(LOWEST)/bin/python --compile-bytecode $(LOWEST)/requirements.txt \
		&& $(UV) install --python $(LOWEST)/bin/python --compile-bytecode --no-deps -e .; } \
		>$(LOWEST_LOG) 2>&1 || { \
		tail -n $(INSTALL_LOG_TAIL) $(LOWEST_LOG) >&2; \
		echo "uv failed: its whole output is in $(LOWEST_LOG)" >&2; \
		exit 1; }
	@touch $(LOWEST_STAMP)

# What a deployment installs: the bot's own dependencies (no test tools), each with its hashes.
lock: $(STAMP)
	$(UV) compile --quiet pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" -o requirements.lock
