# Benchmarks of mlscaffold and of the projects it generates. Each writes its report under
# bench/reports/ and re-renders its README table from it; run them on an otherwise idle machine.
PYTHON ?= python

.PHONY: bench bench-trainer bench-startup bench-tiers bench-demo readme-tables readme-options

bench: bench-trainer bench-startup bench-tiers bench-demo

bench-trainer:
	$(PYTHON) bench/trainer_overhead.py

bench-startup:
	$(PYTHON) bench/startup.py

bench-tiers:
	$(PYTHON) bench/test_tiers.py

bench-demo:
	$(PYTHON) bench/demo_variants.py

# Only re-render the README tables from the stored reports (no measuring).
readme-tables:
	$(PYTHON) bench/trainer_overhead.py --readme
	$(PYTHON) bench/startup.py --readme
	$(PYTHON) bench/test_tiers.py --readme
	$(PYTHON) bench/demo_variants.py --readme

# The README's options reference from copier.yml (what `mlscaffold options --markdown` prints).
readme-options:
	$(PYTHON) scripts/readme_options.py
