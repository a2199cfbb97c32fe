"""Writes notebooks/ops_cycle.ipynb and notebooks/program_directorate.ipynb (kept as a script so the
notebooks' cells are reviewable). Both read the lake named by DTSEN_LAKE and change nothing in it."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
META = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

SETUP = ("import json\n"
         "import os\n\n"
         "import pandas as pd\n"
         "from pyspark.sql import functions as F\n\n"
         "from dtsen.catalog import Catalog\n"
         "from dtsen.config import load_config\n"
         "from dtsen.cycles import parse_cycle\n"
         "from dtsen.regions import villages\n"
         "from dtsen.spark import get_spark\n\n"
         "conf = load_config(os.environ.get('DTSEN_ENV'))\n"
         "spark = get_spark(conf, '{app}')\n"
         "cat = Catalog(conf)\n"
         "provinces = villages().groupby('province_code')['province_name'].first()\n"
         "cycles = sorted((r['cycle'] for r in cat.read(spark, '{table}').select('cycle').distinct().collect()),\n"
         "                key=lambda c: parse_cycle(c).reference_date)\n"
         "assert cycles, 'the lake holds no cycle yet: run bin/run-demo (or the dtsen_cycle DAG) first'\n"
         "cycle = os.environ.get('DTSEN_NOTEBOOK_CYCLE') or cycles[-1]\n"
         "print('lake', cat.root, '| cycles', cycles, '| this notebook:', cycle)")

ops = [
    md("# A cycle's data quality, for data-center ops\n\n"
       "Reads the lake named by `DTSEN_LAKE` (default `lake/`); `DTSEN_NOTEBOOK_CYCLE` picks the cycle (default: "
       "the latest ingested). Read-only: reruns are the DAG's or `dtsen`'s job (see docs/operations.md).\n\n"
       "1. the quality gate, recomputed with the limits in conf;\n"
       "2. reconciliation per source and the files that did not go through;\n"
       "3. why rows were quarantined;\n"
       "4. schema drift in the agencies' files;\n"
       "5. the review queues: families for field verification, record pairs for clerical review."),
    code(SETUP.format(app="notebook-ops", table="ingest_reconciliation")),
    md("## 1. The quality gate\n\n"
       "The same check `dtsen quality-gate` (the DAG's `quality_gate` task) runs: every file reconciles, and no "
       "source quarantines more than its limit. The task's own decision file is shown when it ran."),
    code("from dtsen.quality_gate import Rules, check, source_figures\n\n"
         "recon = cat.read(spark, 'ingest_reconciliation', cycle).toPandas()\n"
         "rules = Rules.from_conf(conf)\n"
         "breaches = check(recon, rules)\n"
         "print(f'gate for {cycle}:', 'PASSES' if not breaches else f'FAILS with {len(breaches)} breaches')\n"
         "for b in breaches:\n"
         "    print('  -', b.message())\n"
         "decision = os.path.join(cat.root, 'reports', cycle, 'quality_gate.json')\n"
         "if os.path.exists(decision):\n"
         "    print('last gate task decision:', json.load(open(decision))['passed'], 'in', decision)\n"
         "figures = source_figures(recon)\n"
         "figures['limit'] = [rules.max_quarantine_share_by_source.get(s, rules.max_quarantine_share)\n"
         "                    for s in figures['source']]\n"
         "figures"),
    md("## 2. Reconciliation\n\n"
       "Per file: rows in = rows accepted + rows quarantined, exactly. Totals per source, then every file that was "
       "rejected as a whole or does not balance (an empty table is the good case)."),
    code("totals = recon.groupby('source')[['rows_in', 'rows_accepted', 'rows_quarantined']].sum()\n"
         "totals['difference'] = totals['rows_in'] - totals['rows_accepted'] - totals['rows_quarantined']\n"
         "assert (totals['difference'] == 0).all(), totals[totals['difference'] != 0]\n"
         "totals.loc['all sources'] = totals.sum()\n"
         "totals"),
    code("problem_files = recon[(recon['status'] == 'rejected') | ~recon['balanced']]\n"
         "problem_files.drop(columns=[c for c in ('cycle',) if c in problem_files.columns]).sort_values(\n"
         "    ['source', 'file_name'])"),
    md("## 3. Why rows were quarantined\n\nReason codes per source (a row may carry several)."),
    code("reasons = cat.read(spark, 'dq_reasons', cycle).toPandas()\n"
         "pivot = reasons.pivot_table(index='reason', columns='source', values='rows', aggfunc='sum', fill_value=0)\n"
         "pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]\n"
         "ax = pivot.head(15).plot.barh(stacked=True, figsize=(9, 5), title=f'{cycle}: top quarantine reasons')\n"
         "ax.invert_yaxis()\n"
         "pivot.head(15)"),
    code("# a few quarantined rows of the most frequent reason, as the agency sent them (restricted table)\n"
         "top = pivot.index[0]\n"
         "(cat.read(spark, 'quarantine', cycle).where(F.array_contains('reasons', top))\n"
         "   .select('source', 'file_name', 'line_number', 'reasons').limit(5).toPandas())"),
    md("## 4. Schema drift\n\nColumns an agency added, dropped or renamed against its data contract."),
    code("drift = cat.read(spark, 'ingest_schema_drift', cycle).toPandas() if cat.exists(spark, 'ingest_schema_drift') "
         "else pd.DataFrame()\n"
         "print(len(drift), 'drift findings')\n"
         "drift.head(20)"),
    md("## 5. Review queues\n\n"
       "Families whose data look inconsistent (e.g. \"looks poor but owns a car\"), ranked per regency for field "
       "verification, and record pairs identity resolution was unsure about (clerical review)."),
    code("queue = cat.read(spark, 'review_queue', cycle)\n"
         "by_province = (queue.groupBy('province_code', 'flag_outcome').count().toPandas()\n"
         "               .pivot_table(index='province_code', columns='flag_outcome', values='count', fill_value=0))\n"
         "by_province.index = [f'{c} {provinces.get(c, \"?\")}' for c in by_province.index]\n"
         "by_province.plot.bar(stacked=True, figsize=(10, 3), title=f'{cycle}: families to verify, by province')\n"
         "print(queue.count(), 'families in the queue')"),
    code("# the top of one regency's list, as a field officer gets it\n"
         "busiest = (queue.groupBy('regency_code').count().orderBy(F.desc('count'), 'regency_code')\n"
         "           .first()['regency_code'])\n"
         "(queue.where(F.col('regency_code') == busiest).orderBy('rank_in_regency')\n"
         "   .select('rank_in_regency', 'family_id', 'village_code', 'members', 'priority', 'flag_outcome', 'flags')\n"
         "   .limit(10).toPandas())"),
    code("clerical = cat.read(spark, 'linkage_review', cycle)\n"
         "clerical.groupBy('kind').count().orderBy('kind').toPandas()"),
    code("report = os.path.join(cat.root, 'reports', cycle, 'ingest_quality.md')\n"
         "print('readable report:', report)\n"
         "print(''.join(open(report, encoding='utf-8').readlines()[:25]))"),
    code("spark.stop()"),
]

directorate = [
    md("# A program's quotas, recipients and changes, for a program directorate\n\n"
       "Reads the lake named by `DTSEN_LAKE`; `DTSEN_NOTEBOOK_PROGRAM` picks the program (default `PKH`) and "
       "`DTSEN_NOTEBOOK_CYCLE` the cycle (default: the latest published). Read-only; what-ifs are "
       "`dtsen simulate`.\n\n"
       "1. the quota by province, against eligible families;\n"
       "2. recipients and waitlist by province, and the benefit they receive;\n"
       "3. the published files and their manifests;\n"
       "4. what changed since the previous cycle, with reasons."),
    code(SETUP.format(app="notebook-directorate", table="recipients")
         + "\nprogram = os.environ.get('DTSEN_NOTEBOOK_PROGRAM', 'PKH')\n"
         "print('program', program)"),
    md("## 1. Quota by province\n\n"
         "The national quota split to provinces (then regencies) in proportion to eligible persons by largest "
         "remainder, so the parts add up exactly."),
    code("quotas = cat.read(spark, 'quotas', cycle).where(F.col('program') == program).toPandas()\n"
         "prov = quotas[quotas['level'] == 'province'].set_index('province_code').sort_index()\n"
         "nat = quotas[quotas['level'] == 'national']\n"
         "reg = quotas[quotas['level'] == 'regency']\n"
         "if prov['quota_families'].notna().any():\n"
         "    assert prov['quota_families'].sum() == nat['quota_families'].sum() == reg['quota_families'].sum()\n"
         "    print('national quota', int(nat['quota_families'].sum()), 'families',\n"
         "          '= the sum of the provinces = the sum of the regencies')\n"
         "prov.index = [f'{c} {provinces.get(c, \"?\")}' for c in prov.index]\n"
         "ax = prov[['eligible_families', 'quota_families']].plot.bar(figsize=(11, 3.5),\n"
         "     title=f'{program} {cycle}: eligible families and quota by province')\n"
         "prov[['eligible_families', 'eligible_persons', 'quota_families', 'budget_rp']]"),
    md("## 2. Recipients by province"),
    code("rec = cat.read(spark, 'recipients', cycle).where(F.col('program') == program)\n"
         "counts = (rec.groupBy('province_code').agg(\n"
         "    F.sum((F.col('outcome') == 'recipient').cast('int')).alias('recipients'),\n"
         "    F.sum((F.col('outcome') == 'waitlisted').cast('int')).alias('waitlisted'),\n"
         "    F.sum(F.when(F.col('outcome') == 'recipient', F.col('members'))).alias('persons_covered'),\n"
         "    F.sum(F.when(F.col('outcome') == 'recipient', F.col('benefit_rp'))).alias('benefit_rp'))\n"
         "    .orderBy('province_code').toPandas().set_index('province_code'))\n"
         "counts.loc['national'] = counts.sum()\n"
         "counts"),
    code("# who gets it: recipients by desil (poorest first) and category\n"
         "(rec.where(F.col('outcome') == 'recipient').groupBy('desil', 'category').count()\n"
         "    .orderBy('desil', 'category').toPandas())"),
    md("## 3. Published files\n\n"
       "One CSV and one Parquet file per regency, each with a manifest (rows, total benefit, SHA-256, model, config "
       "and code versions). The files hold only what disbursement needs: no names, no NIKs."),
    code("import hashlib\n\n"
         "root = cat.publish_dir(cycle)\n"
         "index = json.load(open(os.path.join(root, 'index.json')))\n"
         "files = pd.DataFrame(index['files'])\n"
         "mine = files[(files['program'] == program) & (files['format'] == 'csv')]\n"
         "print(f\"{len(mine)} regency files for {program} in {root}/{program}; model {index['model_version']}, \"\n"
         "      f\"programs {index['config_version']}, code {index['code_version']}\")\n"
         "assert mine['rows'].sum() == counts.loc['national', 'recipients']\n"
         "first = mine.sort_values('regency_code').iloc[0]\n"
         "path = os.path.join(root, program, first['file'])\n"
         "assert hashlib.sha256(open(path, 'rb').read()).hexdigest() == first['sha256'], 'file changed since publish'\n"
         "print('checksum of', first['file'], 'matches its manifest')\n"
         "pd.read_csv(path, dtype=str).head()"),
    md("## 4. Changes since the previous cycle\n\n"
       "New, continuing and exited recipients, each with a reason. The first cycle has no previous one."),
    code("diff = (cat.read(spark, 'cycle_diff').where(F.col('program') == program)\n"
         "        if cat.exists(spark, 'cycle_diff') else None)\n"
         "diff_cycles = [] if diff is None else sorted(r['cycle'] for r in diff.select('cycle').distinct().collect())\n"
         "shown = cycle if cycle in diff_cycles else (diff_cycles[-1] if diff_cycles else None)\n"
         "if shown is None:\n"
         "    print('no cycle diff yet: only one cycle published')\n"
         "else:\n"
         "    d = diff.where(F.col('cycle') == shown)\n"
         "    print(f'{shown} against', d.first()['previous_cycle'])\n"
         "    display(d.groupBy('change').count().orderBy('change').toPandas())\n"
         "    display(d.groupBy('change', 'reason_en').count().orderBy('change', F.desc('count'))\n"
         "             .toPandas().groupby('change').head(3))"),
    code("spark.stop()"),
]

for name, cells in (("ops_cycle", ops), ("program_directorate", directorate)):
    nbf.write(nbf.v4.new_notebook(cells=cells, metadata=META), f"notebooks/{name}.ipynb")
