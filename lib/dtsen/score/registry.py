"""The MLflow model registry as the score stage uses it: one registered model (conf
score.registered_model) whose versions carry the aliases `champion` (what `dtsen score` uses) and
`challenger` (the latest candidate `dtsen train` made)."""
from __future__ import annotations

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dtsen.config import Config
from dtsen.score.model import WelfareModel
from dtsen.tracking import experiment

CHAMPION, CHALLENGER = "champion", "challenger"


def client(conf: Config) -> tuple[MlflowClient, str]:
    """(client on the configured store, the welfare experiment id)."""
    exp = experiment(conf, "welfare")
    return MlflowClient(), exp


def model_name(conf: Config) -> str:
    return str(conf.get("score.registered_model"))


def by_alias(c: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return c.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def load(name: str, version: ModelVersion | str) -> WelfareModel:
    import mlflow.pyfunc

    v = version.version if isinstance(version, ModelVersion) else version
    return mlflow.pyfunc.load_model(f"models:/{name}/{v}").unwrap_python_model()
