"""Writes notebooks/ml_models.ipynb (kept as a script so the notebook's cells are reviewable)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("# Welfare models: train, compare, inspect errors by region\n\n"
       "For ML engineers. Reads the lake named by `DTSEN_LAKE` (default `lake/`, what `bin/run-demo` builds) and "
       "its MLflow store. Nothing here registers or promotes a model: that is `dtsen train` and `dtsen promote`.\n\n"
       "1. the training runs MLflow holds, side by side;\n"
       "2. the champion and the challenger on the same held-out families;\n"
       "3. a variant trained here, compared without registering it;\n"
       "4. where the champion misses the poor: by province, urban/rural and family type."),
    code("import os\n"
         "import mlflow\n"
         "import pandas as pd\n"
         "from mlflow.tracking import MlflowClient\n\n"
         "from dtsen.catalog import Catalog\n"
         "from dtsen.config import load_config\n"
         "from dtsen.score import evaluate as ev, registry, train as tr\n"
         "from dtsen.spark import get_spark\n\n"
         "conf = load_config(os.environ.get('DTSEN_ENV'))\n"
         "spark = get_spark(conf, 'notebook-ml-models')\n"
         "cat = Catalog(conf)\n"
         "_, experiment_id = registry.client(conf)\n"
         "client, name = MlflowClient(), registry.model_name(conf)\n"
         "gate_c = ev.key(float(conf.get('score.gate.coverage')))\n"
         "print('lake', cat.root, '| tracking', mlflow.get_tracking_uri())"),
    md("## 1. Training runs"),
    code("runs = mlflow.search_runs([experiment_id], \"tags.stage = 'train'\", order_by=['start_time DESC'])\n"
         "cols = ['tags.model_kind', 'tags.train_id', 'params.families_train', 'params.families_test']\n"
         "cols += [f'metrics.test_{m}' for m in ('exclusion_error_10', 'exclusion_error_20', 'exclusion_error_40',\n"
         "         'inclusion_error_alatas_40', 'inclusion_error_wb_40', 'spearman', 'auc_below_poverty_line',\n"
         "         f'fairness_ratio_province_code_{gate_c}')]\n"
         "assert len(runs), 'no training runs: run `dtsen train` first'\n"
         "runs[[c for c in cols if c in runs.columns]].round(4)"),
    md("## 2. Champion and challenger on the same held-out families\n\n"
       "The test split of the snapshot the challenger was trained on (what `dtsen promote` judges on)."),
    code("champ = registry.by_alias(client, name, registry.CHAMPION)\n"
         "chall = registry.by_alias(client, name, registry.CHALLENGER)\n"
         "snapshot = cat.read(spark, tr.SNAPSHOT, version=int(chall.tags['snapshot_version'])).toPandas()\n"
         "test = snapshot[snapshot[tr.SPLIT] == 'test'].sort_values(['cycle', 'family_id']).reset_index(drop=True)\n"
         "params = ev.EvalParams.from_conf(conf)\n"
         "models = {f'champion v{champ.version}': registry.load(name, champ),\n"
         "          f'challenger v{chall.version}': registry.load(name, chall)}\n"
         "results = {k: ev.evaluate(test, tr.predict(m, test), params) for k, m in models.items()}\n"
         "pd.DataFrame({k: {**r['overall'], **r['fairness']} for k, r in results.items()}).round(4)"),
    md("## 3. A variant, trained here and compared (not registered)\n\n"
       "Change the LightGBM parameters in `conf` the way `dtsen train` would read them, fit on the same "
       "training split, and judge on the same test families."),
    code("variant_conf = conf.with_overrides({'score': {'models': {'lightgbm': {'params': {'num_leaves': 7}}}}})\n"
         "variant = tr.fit('lightgbm', variant_conf, snapshot, seed=int(conf.get('score.seed')))\n"
         "results['variant num_leaves=7'] = ev.evaluate(test, tr.predict(variant, test), params)\n"
         "compare = pd.DataFrame({k: r['overall'] for k, r in results.items()}).T\n"
         "compare[[f'exclusion_error_{ev.key(c)}' for c in params.coverages] + ['spearman', 'auc_below_poverty_line']].round(4)"),
    md("## 4. Where the champion misses the poor"),
    code("champion_result = results[f'champion v{champ.version}']\n"
         "by_province = ev.by_group_table(champion_result, 'province_code', float(conf.get('score.gate.coverage')))\n"
         "by_province = by_province.sort_values('exclusion_error', ascending=False)\n"
         "ax = by_province.set_index('group')['exclusion_error'].plot.bar(figsize=(10, 3),\n"
         "     title=f'champion: exclusion error at {gate_c}% coverage by province')\n"
         "by_province.head(10)"),
    code("for dim in ('urban', 'family_type'):\n"
         "    if dim in champion_result['groups']:\n"
         "        display(ev.by_group_table(champion_result, dim, float(conf.get('score.gate.coverage'))))"),
    code("# the held-out families the champion ranks furthest from their measured consumption\n"
         "test = test.assign(predicted=tr.predict(models[f'champion v{champ.version}'], test))\n"
         "test['log_error'] = (test['predicted'] / test[tr.LABEL]).apply(lambda r: __import__('math').log(r))\n"
         "test.reindex(test['log_error'].abs().sort_values(ascending=False).index)[\n"
         "    ['cycle', 'province_code', 'family_type', 'members', tr.LABEL, 'predicted', 'log_error']].head(10).round(3)"),
    code("spark.stop()"),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
nbf.write(nb, "notebooks/ml_models.ipynb")
