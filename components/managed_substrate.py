"""The substrate of stack `prod`: the AWS and GCP lakes, and AWS's managed engines in a private VPC (MSK,
MSK Connect, a Confluent-API registry on Fargate, MWAA). Here the topics, their value-schema subjects and the
S3 sink connector are the substrate's own resources (MSK topics, the registry's subjects, an MSK Connect
connector); the program adds the Airflow settings as Secrets Manager secrets through `aws_provider`."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components._substrate_parts import aws_lake, gcp_lake, moved_child
from components.aws_lake import AwsLake
from components.gcp_lake import GcpLake
from components.managed_substrate_args import ManagedSubstrateArgs
from components.msk import Msk
from components.msk_connect import MskConnect
from components.mwaa import Mwaa
from components.network import Network
from components.registry_fargate import SCHEMAS_TOPIC, RegistryFargate
from components.schema_subject import SchemaSubject, schema_text
from components.warehouse import BigQueryWarehouse
from contract import naming
from contract.kafka_auth import AWS_MSK_IAM
from contract.s3_sink import DEAD_LETTER_TOPIC, S3SinkSettings, s3_sink_config
from schemas import load as load_schema


class ManagedSubstrate(pulumi.ComponentResource):
    aws_provider: aws.Provider
    outputs: dict[str, Any]
    schema_registry_url: pulumi.Output[str]
    #: dataset -> topic, as every stack publishes `kafka_topics` (the dead-letter topic is no dataset's)
    topic_names: pulumi.Output[dict[str, str]]
    connector_name: pulumi.Output[str]
    #: BigQuery in the GCP lake's datasets; its `connection` goes to Airflow with the other settings
    warehouse: BigQueryWarehouse

    def __init__(self, name: str, args: ManagedSubstrateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:substrate:ManagedSubstrate", name, None, opts)
        region = args["aws_region"]
        self.aws_provider = aws.Provider("aws", region=region, opts=moved_child(self))
        on_aws = moved_child(self, pulumi.ResourceOptions(providers=[self.aws_provider]))
        lakes = self._lakes(args)
        network = self._network(args, on_aws)
        msk = self._msk(args, network, on_aws)
        self.schema_registry_url, subjects = self._registry(args, network, msk, on_aws)
        self.connector_name = self._sink(args, lakes[0], network, msk, subjects, on_aws)
        airflow_url = self._airflow(args, lakes[0], network, msk, on_aws)
        datasets = list(args["topic_datasets"])
        self.topic_names = msk.topic_names.apply(lambda names: {d: names[naming.kafka_topic(d)] for d in datasets})
        self.outputs = {
            "aws_region": region,
            "gcp_project": args["gcp_project"],
            "endpoints": {},
            "aws_credentials": None,
            "s3_buckets": lakes[0].bucket_names,
            "dynamodb_tables": lakes[0].table_names,
            "gcs_buckets": lakes[1].bucket_names,
            "bigquery_datasets": lakes[1].dataset_ids,
            "firestore_database": lakes[1].firestore_database,
            "mongodb_uri": pulumi.Output.secret(args["mongodb_uri"]),
            "kafka_bootstrap_servers": msk.bootstrap_servers,
            "schema_registry_url": self.schema_registry_url,
            "kafka_connect_url": f"https://kafkaconnect.{region}.amazonaws.com",
            "kafka_connect_auth": None,  # no Connect REST API: the MSK Connect API signs with AWS credentials
            "kafka_rest_proxy_url": None,
            "kafka_console_url": None,
            "airflow_url": airflow_url,
            "kafka_auth": {"mechanism": AWS_MSK_IAM, "region": region},
            "warehouse": self.warehouse.outputs,
        }
        self.register_outputs({**self.outputs, "topic_names": self.topic_names, "connector_name": self.connector_name})

    def _lakes(self, args: ManagedSubstrateArgs) -> tuple[AwsLake, GcpLake]:
        prefix, stack, force_destroy = args["prefix"], args["stack"], args["force_destroy"]
        aws_side = aws_lake(
            self,
            self.aws_provider,
            prefix=prefix,
            stack=stack,
            dynamodb_datasets=args["dynamodb_datasets"],
            force_destroy=force_destroy,
            create_sink_user=False,  # the sink's role replaces dev's user + key
        )
        project = args["gcp_project"]
        gcp_provider = gcp.Provider("gcp", project=project, region=args["gcp_location"].lower(), opts=moved_child(self))
        gcp_side = gcp_lake(
            self,
            gcp_provider,
            prefix=prefix,
            stack=stack,
            project=project,
            location=args["gcp_location"],
            force_destroy=force_destroy,
        )
        assert gcp_side.warehouse is not None  # the real cloud has BigQuery
        self.warehouse = gcp_side.warehouse
        return aws_side, gcp_side

    def _network(self, args: ManagedSubstrateArgs, opts: pulumi.ResourceOptions) -> Network:
        sizing = args["sizing"]
        return Network(
            "network",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "region": args["aws_region"],
                "cidr": sizing.vpc_cidr,
                "availability_zones": sizing.availability_zones,
            },
            opts,
        )

    def _msk(self, args: ManagedSubstrateArgs, network: Network, opts: pulumi.ResourceOptions) -> Msk:
        sizing = args["sizing"]
        return Msk(
            "msk",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "subnet_ids": network.subnet_ids,
                "security_group_ids": [network.security_groups["msk"].id],
                "topics": {
                    **{naming.kafka_topic(d): args["topic_partitions"] for d in args["topic_datasets"]},
                    DEAD_LETTER_TOPIC: 1,  # records the S3 sink's converter cannot read, as on every stack
                },
                "compacted_topics": [SCHEMAS_TOPIC],
                "mode": sizing.msk_mode,
                "kafka_version": sizing.kafka_version,
                "broker_count": sizing.broker_count,
                "broker_instance_type": sizing.broker_instance_type,
                "broker_volume_gb": sizing.broker_volume_gb,
            },
            opts,
        )

    def _registry(
        self, args: ManagedSubstrateArgs, network: Network, msk: Msk, opts: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """The registry on Fargate and the stack's value-schema subjects on it (the same dynamic resource as on
        every stack: the engine must reach the internal load balancer, i.e. run inside the VPC)."""
        sizing = args["sizing"]
        registry = RegistryFargate(
            "schema-registry",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "region": args["aws_region"],
                "image": sizing.registry_image,
                "vpc_id": network.vpc.id,
                "subnet_ids": network.subnet_ids,
                "lb_security_group_id": network.security_groups["registry-lb"].id,
                "task_security_group_id": network.security_groups["registry"].id,
                "bootstrap_servers": msk.bootstrap_servers,
                "cluster_arn": msk.arn,
                "tasks": sizing.registry_tasks,
            },
            opts,
        )
        subjects: list[pulumi.Resource] = []
        for dataset in args["topic_datasets"]:
            subject = naming.schema_subject(naming.kafka_topic(dataset))
            subjects.append(
                SchemaSubject(
                    f"subject-{subject}",
                    {
                        "registry_url": registry.url,
                        "subject": subject,
                        "schema": schema_text(load_schema(dataset).json_schema()),
                        "schema_type": "JSON",
                        "compatibility": args["subject_compatibility"],
                    },
                    moved_child(self, pulumi.ResourceOptions(depends_on=[registry])),
                )
            )
        return registry.url, subjects

    def _sink(
        self,
        args: ManagedSubstrateArgs,
        lake: AwsLake,
        network: Network,
        msk: Msk,
        subjects: list[pulumi.Resource],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        sizing = args["sizing"]
        topics = [naming.kafka_topic(d) for d in args["s3_sink_datasets"]]
        connect = MskConnect(
            "s3-sink",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "plugin_path": sizing.connect_plugin_path,
                "artifact_bucket": lake.buckets["artifact"].bucket,
                "artifact_bucket_arn": lake.buckets["artifact"].arn,
                "landing_bucket_arn": lake.buckets["landing"].arn,
                "sink_prefix": naming.S3_SINK_PREFIX,
                "cluster_arn": msk.arn,
                "bootstrap_servers": msk.bootstrap_servers,
                "subnet_ids": network.subnet_ids,
                "security_group_ids": [network.security_groups["connect"].id],
                "connector_name": naming.S3_SINK_CONNECTOR,
                "topics": topics,
                "connector_config": self.schema_registry_url.apply(lambda url: sink_config(args, topics, url)),
                "mcu_count": sizing.connect_mcu_count,
                "min_workers": sizing.connect_min_workers,
                "max_workers": sizing.connect_max_workers,
            },
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[msk, lake, *subjects])),
        )
        return connect.name

    def _airflow(
        self, args: ManagedSubstrateArgs, lake: AwsLake, network: Network, msk: Msk, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        sizing, region = args["sizing"], args["aws_region"]
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=self.aws_provider))
        tables = pulumi.Output.all(identity.account_id, lake.table_names).apply(
            lambda a: [f"arn:aws:dynamodb:{region}:{a[0]}:table/{t}" for t in sorted(a[1].values())]
        )
        mwaa = Mwaa(
            "mwaa",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "region": region,
                "account_id": identity.account_id,
                "repo_root": args["repo_root"],
                "artifact_bucket": lake.buckets["artifact"].bucket,
                "artifact_bucket_arn": lake.buckets["artifact"].arn,
                "landing_bucket_arn": lake.buckets["landing"].arn,
                "dynamodb_table_arns": tables,
                "cluster_arn": msk.arn,
                "topics": [naming.kafka_topic(d) for d in args["topic_datasets"]],
                "subnet_ids": network.subnet_ids.apply(lambda ids: ids[:2]),  # MWAA takes exactly two subnets
                "security_group_ids": [network.security_groups["mwaa"].id],
                "environment_class": sizing.mwaa_environment_class,
                "airflow_version": sizing.mwaa_airflow_version,
                "max_workers": sizing.mwaa_max_workers,
            },
            opts,
        )
        return mwaa.url


def sink_config(args: ManagedSubstrateArgs, topics: list[str], registry_url: str) -> dict[str, str]:
    """The S3 sink connector's config on MSK Connect: no secret, the worker's role is its credential."""
    settings = S3SinkSettings(
        topics=tuple(topics),
        bucket=naming.s3_bucket(args["prefix"], args["stack"], "landing"),
        region=args["aws_region"],
        topics_dir=naming.S3_SINK_PREFIX,
        schema_registry_url=registry_url,
        flush_size=args["s3_sink_flush_size"],
        flavour="confluent",
        rotate_schedule_interval_ms=args.get("s3_sink_rotate_schedule_interval_ms"),
        compression=args["s3_sink_compression"],
        dead_letter_topic=DEAD_LETTER_TOPIC,
        dead_letter_replication_factor=min(3, args["sizing"].broker_count),
    )
    built = s3_sink_config(settings)
    return {**built.config, **built.secret_config}
