"""MLflow tracking: where runs go, and one experiment per purpose (conf `tracking`)."""
from __future__ import annotations

import os

from dtsen.catalog import Catalog
from dtsen.config import Config


def tracking_uri(conf: Config) -> str:
    uri = conf.get("tracking.uri", "") or ""
    if uri:
        return uri
    folder = os.path.join(Catalog(conf).root, "mlflow")
    os.makedirs(folder, exist_ok=True)
    return f"sqlite:///{os.path.abspath(folder)}/mlflow.db"


def experiment(conf: Config, purpose: str) -> str:
    """Point MLflow at the configured store and return the experiment id for `purpose`
    (a key of tracking.experiments), creating it with its artifacts beside the database."""
    import mlflow

    uri = tracking_uri(conf)
    mlflow.set_tracking_uri(uri)
    name = conf.get(f"tracking.experiments.{purpose}")
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = "file://" + os.path.join(os.path.dirname(uri[len("sqlite:///"):]), "artifacts")
    return mlflow.create_experiment(name, artifact_location=location)
