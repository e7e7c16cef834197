"""Shoal's nightly retraining as an Airflow DAG (Airflow 2.6+): retrain behind the gate, then score the day's
table with whichever model is champion afterwards.

Copy this file into the DAGs folder and set SHOAL_HOME, the job file, the registry and the tables below (the
model must be trained on a table, e.g. Parquet: predict reads the day's table as training read its data).
retrain's exit codes: 0 promoted -> success; 3 the gate kept the champion, 4 another run promoted first ->
the retrain task is marked "skipped" (not failed), and scoring still runs with the current champion;
1 or 2 -> failed, and nothing is scored. See README.md, "Scheduled retraining".
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

SHOAL_HOME = "/opt/shoal"
JOB = "/etc/shoal/fashion-mnist-nightly.yaml"
REGISTRY = "hdfs:///models"
NAME = "fashion-mlp"
SKIPPED = 99  # what the retrain task exits with when the model was registered but is not the new champion

with DAG(
    dag_id="shoal_nightly_retrain",
    start_date=datetime(2026, 1, 1),
    schedule="0 2 * * *",
    catchup=False,
    default_args={"retries": 0, "execution_timeout": timedelta(hours=4)},
) as dag:
    retrain = BashOperator(
        task_id="retrain",
        bash_command=(
            f"{SHOAL_HOME}/scripts/shoal retrain {JOB} --registry {REGISTRY} --name {NAME}; "
            f"rc=$?; if [ $rc -eq 3 ] || [ $rc -eq 4 ]; then exit {SKIPPED}; fi; exit $rc"
        ),
        skip_on_exit_code=SKIPPED,
    )
    score = BashOperator(
        task_id="score",
        bash_command=(
            f"{SHOAL_HOME}/scripts/shoal predict registry:{NAME}@champion --registry {REGISTRY} "
            "--input hdfs:///tables/today/{{ ds }} --output hdfs:///scores/{{ ds }}"
        ),
        trigger_rule="none_failed",
    )
    retrain >> score
