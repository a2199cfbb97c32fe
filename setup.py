"""Installable package for the DTSEN pipeline: all logic lives in lib/dtsen."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _requirements() -> list[str]:
    """Direct runtime dependencies; exact versions are pinned in requirements.lock."""
    lines = (HERE / "requirements.in").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


setup(
    name="dtsen",
    version="0.1.0",
    description="Unified socio-economic registry pipeline (Spark + Delta + MLflow)",
    python_requires=">=3.11,<3.12",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    install_requires=_requirements(),
    entry_points={"console_scripts": ["dtsen=dtsen.cli:main"]},
)
