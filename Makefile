# Streaming Lab — every command a learner or instructor needs. `make` alone lists them.
# Each target installs what it needs first (`make setup` runs once, then is instant).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
DEV_STAMP := $(VENV)/.setup-dev-done
JAR_MANIFESTS := .lab/jars/spark/resolved.txt .lab/jars/broker/resolved.txt
# BUNDLE=dist/workshop-bundle.tar.gz: install from the offline workshop bundle (`make bundle`), no network
BUNDLE ?=
BUNDLE_DIR := .lab/bundle
# what `make bundle` serves: Windows laptops work in WSL2, which is linux-x86_64
BUNDLE_PLATFORMS ?= linux-x86_64 linux-aarch64 macos-arm64 macos-x86_64
BUNDLE_PYTHONS ?= 3.11 3.12
# setuptools explains editable installs in ten lines at every install: nothing a learner can act on
PIP_INSTALL = PYTHONWARNINGS="ignore:Editable installation" PIP_DISABLE_PIP_VERSION_CHECK=1 \
	$(PY) -m pip install --quiet $(if $(BUNDLE),--no-index --find-links $(BUNDLE_DIR)/wheels)
RATE   ?= 5
PORT   ?= 9092
DURATION ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
LAB_ARGS ?=
# pytest-xdist workers for `make test`: each starts its own broker and Spark session; streaming
# tests wait on triggers and Kafka as much as they compute, so two share two cores well.
# loadgroup: a test goes to whichever worker frees up first, except a module marked
# xdist_group, which stays on one worker (its module fixture runs a pipeline once).
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadgroup
# Every lesson executed with its solutions, as HTML and .ipynb: make html, and every make test
LESSON_COPIES := $(CURDIR)/build/lessons

.DEFAULT_GOAL := help
.PHONY: help setup start stop status produce consume run test test-unsolved test-quick bench lab clean distclean lint format strip preflight setup-dev bundle html

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) $(JAR_MANIFESTS) ## the learner install: .venv with the lab and JupyterLab, the JVM jars (once; BUNDLE=... offline)

# jars deleted since (`rm -rf .lab/jars`): resolve them again, and nothing else
$(JAR_MANIFESTS): | $(STAMP)
	$(if $(BUNDLE),@$(PY) -m labsupport.bundle unpack $(BUNDLE) --into $(BUNDLE_DIR))
	$(PY) -m labsupport setup

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required: install it and run `make setup PYTHON=python3.x`.")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
ifneq ($(BUNDLE),)
	@$(PY) -m labsupport.bundle unpack $(BUNDLE) --into $(BUNDLE_DIR)
else
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
endif
	$(PIP_INSTALL) -e '.[notebooks]'
	$(PY) -m labsupport setup
	@touch $(STAMP)

setup-dev: $(DEV_STAMP) ## the developer install: the learner's, plus the test and lint tools (make test, make lint)

$(DEV_STAMP): $(STAMP) | $(JAR_MANIFESTS)
	$(PIP_INSTALL) -e '.[notebooks,test,dev]'
	@touch $(DEV_STAMP)

preflight: ## check the machine and the setup, changing nothing: every problem with its fix
	@if test -x $(PY); then $(PY) -m labsupport preflight; else echo 'No .venv here yet: run `make setup` first.'; exit 1; fi

start: setup ## start the embedded Kafka broker (127.0.0.1:$(PORT)) and create the topic
	@$(PY) -m labsupport broker start --port $(PORT)
	@$(PY) -m labsupport topic create

stop: setup ## stop the embedded Kafka broker
	@$(PY) -m labsupport broker stop

status: setup ## is the broker running, and where
	@$(PY) -m labsupport broker status

.PHONY: rate-check gold where sql cluster cluster-stop cluster-status
cluster: setup ## three Kafka brokers and a Spark standalone master with two workers, on this machine
	@$(PY) -m labsupport cluster start

cluster-stop: setup ## stop every process `make cluster` started
	@$(PY) -m labsupport cluster stop

cluster-status: setup ## which processes of the clusters run, where, and their logs
	@$(PY) -m labsupport cluster status


# RATE is checked before anything starts (the commands check it again, for use without make)
rate-check:
	@awk -v rate='$(RATE)' 'BEGIN { exit !(rate ~ /^([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$$/ && rate + 0 > 0) }' \
		|| { echo 'error: RATE=$(RATE) is not a rate: give events per second above 0, e.g. RATE=50.' >&2; exit 2; }

produce: rate-check start ## publish order events (RATE=5 per second; Ctrl-C to stop)
	@$(PY) -m producer.order_producer --rate $(RATE)

consume: start ## run the streaming pipeline: Kafka -> Bronze, quarantine, Gold (Ctrl-C to stop)
	@$(PY) -m labsupport pipeline run

run: rate-check start ## the main job: broker, producer, pipeline, live Gold view (RATE=5/s, DURATION=secs)
	@$(PY) -m labsupport run --rate $(RATE) $(if $(DURATION),--duration $(DURATION))

gold: setup ## print the newest Gold windows
	@$(PY) -m labsupport gold

where: setup ## where did an order's events go? (ID=<order id>; without ID: recent order ids)
	@$(PY) -m labsupport where $(if $(ID),'$(ID)')

sql: setup ## run one of the design's SQL checks on the tables (Q=bronze_check or Q=gold_revenue)
	@$(if $(Q),$(PY) -m labsupport sql $(Q),echo 'error: name the check: make sql Q=bronze_check (or Q=gold_revenue).' >&2; exit 2)

test: setup-dev ## the whole suite, notebooks included (starts and stops its own broker)
	@rm -rf $(LESSON_COPIES)
	LAB_EXECUTED_DIR=$(LESSON_COPIES) $(PY) -m pytest -m "not unsolved" $(XDIST) $(PYTEST_ARGS)

test-unsolved: setup-dev ## run every notebook unsolved, as a learner first opens it: no crash, a ✗ per exercise
	$(PY) -m pytest -m unsolved $(XDIST) $(PYTEST_ARGS)

test-quick: setup-dev ## the fast tier: no Kafka, no streaming runs
	$(PY) -m pytest -m "not kafka and not slow and not notebooks and not spark" $(PYTEST_ARGS)

html: setup-dev ## execute every lesson with its solutions: HTML + executed .ipynb in build/lessons/
	@rm -rf $(LESSON_COPIES)
	LAB_EXECUTED_DIR=$(LESSON_COPIES) $(PY) -m pytest tests/test_notebooks.py -m notebooks -k runs_with_solutions $(XDIST) $(PYTEST_ARGS)
	@echo "Executed lessons: $(LESSON_COPIES)/index.html (open it in a browser)"

bench: setup ## measure throughput, Gold freshness and cost, each beside its baseline (bench/pipeline.py)
	$(PY) bench/pipeline.py $(BENCH_ARGS)

bundle: setup ## build dist/workshop-bundle.tar.gz: every wheel and jar, for a room with no network
	$(PY) -m labsupport.bundle build --out dist/workshop-bundle.tar.gz --platforms "$(BUNDLE_PLATFORMS)" --pythons "$(BUNDLE_PYTHONS)"

lab: start ## open JupyterLab on the numbered notebooks
	LAB_SPARK_UI=1 $(VENV)/bin/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean: setup ## reset the lab: Delta tables, checkpoints and the broker's data (stops the broker)
	@$(PY) -m labsupport reset --yes --broker

distclean: ## remove everything generated, the virtualenv and jar cache included (not dist/: a bundle)
	@test ! -x $(PY) || $(PY) -m labsupport broker stop || { echo "distclean: the broker could not be stopped (see above); nothing was deleted."; exit 1; }
	rm -rf $(VENV) .lab build delta checkpoints spark-warehouse .pytest_cache .ruff_cache

lint: setup-dev ## check code and notebooks (ruff) and that notebook outputs are stripped
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then $(VENV)/bin/nbstripout --verify notebooks/*.ipynb || { echo 'Notebook outputs are committed: run `make strip`.'; exit 1; }; fi

format: setup-dev ## rewrite code and notebooks to the lab's style, strip notebook outputs
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/nbstripout notebooks/*.ipynb

strip: setup-dev ## strip outputs from every notebook
	$(VENV)/bin/nbstripout notebooks/*.ipynb
