"""`make status` (`python -m demo.status`): one screen of the local platform, the console a user has where no
Kafka UI, REST proxy or console can run.

- devstack's services: pid, ports, memory of the process group, what each keeps on disk;
- Kafka: topics with partitions and end offsets, the S3 sink's consumer lag, the dead-letter topic's depth;
- Kafka Connect: every connector and its tasks, their state and the first line of a trace;
- the schema registry: subjects, latest version, compatibility;
- Airflow: the last DAG runs.

Each section is read on its own; a server that is down is one line ("kafka: not reachable at 127.0.0.1:15040")
and the rest of the screen still shows. `--json` prints the same for scripts.
"""
