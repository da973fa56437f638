# Two commands do all the set-up on a fresh machine:
#   make run    the shop on http://127.0.0.1:8000 (SQLite, no services or keys needed)
#   make test   the whole test suite against PostgreSQL (DATABASE_URL, default local)

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast venv browser migrate demo clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium for the browser tests (Playwright's own download cannot work offline).
browser: $(CHROMIUM)

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then echo "Chromium is missing: run 'sudo apt-get install chromium' and try again." >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The shop, the Stripe emulator, a Celery worker and beat, started and stopped together
# (Procfile.dev, run by honcho). Ctrl-C stops them all.
run: venv
	mkdir -p var
	DJANGO_DEBUG=true $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=true $(PY) manage.py load_demo_data
	DJANGO_DEBUG=true PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho -f Procfile.dev start

test: venv browser
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast layer alone: the rules that need only the database (no emulator, server, worker or browser).
test-fast: venv
	$(PY) -m pytest -m "not contract" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles var
