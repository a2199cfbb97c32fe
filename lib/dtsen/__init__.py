"""DTSEN pipeline: a unified socio-economic registry on Spark + Delta Lake."""

__version__ = "0.1.0"
