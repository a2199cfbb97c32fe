"""Run inside .venv-airflow (by test_dags.py): parse dags/ with Airflow's DagBag and print what the
tests check as JSON — import errors, tasks and their wiring, schedules, the cycle id rendered for
the first scheduled runs (January and July), and whether parsing imported pyspark."""
import json
import sys
from datetime import UTC, datetime

from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import DataInterval, TimeRestriction

bag = DagBag(dag_folder=sys.argv[1])
out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {},
       "pyspark_imported": sorted(m for m in sys.modules if m == "pyspark" or m.startswith("pyspark."))}
for dag_id, dag in bag.dags.items():
    tasks = {t.task_id: {"downstream": sorted(t.downstream_task_ids), "operator": type(t).__mro__[1].__name__,
                         "application": t.application, "args": t.application_args, "conn_id": t._conn_id,
                         "spark_binary": t._spark_binary, "env_vars": t.env_vars, "jars": t.jars, "conf": t.conf,
                         "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule)} for t in dag.tasks}
    core = coerce_to_core_timetable(dag.timetable)     # the scheduler's view of the schedule
    info = {"schedule": getattr(core, "_expression", None), "timetable": type(core).__name__,
            "tasks": tasks, "runs": []}
    if dag_id == "dtsen_cycle":
        # the first two scheduled runs from the start date, as the scheduler would make them
        last = None
        for _ in range(2):
            nxt = core.next_dagrun_info(
                last_automated_data_interval=last,
                restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True))
            last = DataInterval(nxt.data_interval.start, nxt.data_interval.end)
            info["runs"].append({"start": last.start.isoformat(), "end": last.end.isoformat()})
        task = dag.get_task("resolve")
        env = dag.get_template_env()
        for run in info["runs"]:
            ctx = {"params": {"cycle": None}, "data_interval_start": datetime.fromisoformat(run["start"])}
            run["args"] = task.render_template(task.application_args, ctx, env)
        ctx = {"params": {"cycle": "2025H2"}, "data_interval_start": datetime(2026, 3, 1, tzinfo=UTC)}
        info["override_args"] = task.render_template(task.application_args, ctx, env)
    out["dags"][dag_id] = info
print("DAG-STRUCTURE " + json.dumps(out, default=str))
