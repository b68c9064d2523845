"""Graft nightly pipeline as an Airflow DAG (Airflow 2.6+).

One BashOperator runs `graft pipeline run` through graft-submit; the pipeline itself skips finished
stages and resumes interrupted ones, so Airflow's retries are cheap and safe. Exit codes:
0 done, 1 a stage failed (retried), 2 bad pipeline file, 3 negative transfer detected,
4 another run holds the lock (the task is marked skipped, not failed).
Copy this file into the DAGs folder; set the Airflow Variable `graft_home` to the Graft checkout.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

GRAFT_HOME = Variable.get("graft_home", default_var="/opt/graft")
PIPELINE = "deploy/pipelines/nightly.yaml"

with DAG(
    dag_id="graft_nightly",
    start_date=datetime(2026, 1, 1),
    schedule="30 1 * * *",
    catchup=False,
    max_active_runs=1,  # Graft's lock enforces this too, across schedulers
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["graft", "transfer-learning"],
) as dag:
    plan = BashOperator(
        task_id="plan",
        bash_command=f"cd {GRAFT_HOME} && deploy/bin/graft pipeline plan {PIPELINE}",
    )
    run = BashOperator(
        task_id="run",
        bash_command=(
            f"cd {GRAFT_HOME} && deploy/bin/graft-submit --master spark://spark-master:7077 "
            f"pipeline run {PIPELINE} --summary /var/log/graft/nightly-{{{{ ds }}}}.json"
        ),
        skip_on_exit_code=[4],
        execution_timeout=timedelta(hours=8),
    )
    plan >> run
