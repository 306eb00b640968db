# Streaming Lab — every command a learner or instructor needs. `make` alone lists them.
# Each target installs what it needs first (`make setup` runs once, then is instant).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
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

.DEFAULT_GOAL := help
.PHONY: help setup start stop status produce consume run test test-unsolved test-quick bench lab clean distclean lint format strip preflight

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## create .venv, install the lab and resolve its JVM jars (once; offline after)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required: install it and run `make setup PYTHON=python3.x`.")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,notebooks,dev]'
	$(PY) -m labsupport setup
	@touch $(STAMP)

preflight: setup ## check the setup: every problem with its fix (Java, jars, ports, Kafka, Spark, Delta)
	@$(PY) -m labsupport preflight

start: setup ## start the embedded Kafka broker (127.0.0.1:$(PORT)) and create the topic
	@$(PY) -m labsupport broker start --port $(PORT)
	@$(PY) -m labsupport topic create

stop: setup ## stop the embedded Kafka broker
	@$(PY) -m labsupport broker stop

status: setup ## is the broker running, and where
	@$(PY) -m labsupport broker status

produce: start ## publish order events (RATE=5 per second; Ctrl-C to stop)
	@$(PY) -m producer.order_producer --rate $(RATE)

consume: start ## run the streaming pipeline: Kafka -> Bronze + Gold (Ctrl-C to stop)
	@$(PY) -m labsupport pipeline run

run: start ## the main job: broker, producer, pipeline and a live Gold view (DURATION=secs to bound)
	@$(PY) -m labsupport run $(if $(DURATION),--duration $(DURATION))

test: setup ## the whole suite, notebooks included (starts and stops its own broker)
	$(PY) -m pytest -m "not unsolved" $(XDIST) $(PYTEST_ARGS)

test-unsolved: setup ## run every notebook unsolved, as a learner first opens it: no crash, a ✗ per exercise
	$(PY) -m pytest -m unsolved $(XDIST) $(PYTEST_ARGS)

test-quick: setup ## the fast tier: no Kafka, no streaming runs
	$(PY) -m pytest -m "not kafka and not slow and not notebooks and not spark" $(PYTEST_ARGS)

bench: setup ## measure throughput, Gold freshness and cost, each beside its baseline (bench/pipeline.py)
	$(PY) bench/pipeline.py $(BENCH_ARGS)

lab: start ## open JupyterLab on the numbered notebooks
	LAB_SPARK_UI=1 $(VENV)/bin/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean: setup ## reset the lab: Delta tables, checkpoints and the broker's data (stops the broker)
	@$(PY) -m labsupport reset --yes --broker

distclean: ## remove everything generated, the virtualenv and jar cache included
	@test ! -x $(PY) || $(PY) -m labsupport broker stop || { echo "distclean: the broker could not be stopped (see above); nothing was deleted."; exit 1; }
	rm -rf $(VENV) .lab delta checkpoints spark-warehouse .pytest_cache .ruff_cache

lint: setup ## check code and notebooks (ruff) and that notebook outputs are stripped
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then $(VENV)/bin/nbstripout --verify notebooks/*.ipynb || { echo 'Notebook outputs are committed: run `make strip`.'; exit 1; }; fi

format: setup ## rewrite code and notebooks to the lab's style, strip notebook outputs
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/nbstripout notebooks/*.ipynb

strip: setup ## strip outputs from every notebook
	$(VENV)/bin/nbstripout notebooks/*.ipynb
