"""keras-tuner's own tests, run against keras_hpo (see conftest.py)."""
