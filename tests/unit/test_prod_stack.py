"""Stack `prod` under the mock runtime: the managed engines are private, authenticated, encrypted and scoped,
and the MSK IAM client path (contract.kafka_auth) works with confluent-kafka as installed here."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from components.mwaa import airflow_configuration
from contract import kafka_auth
from contract.clients import kafka_config
from contract.outputs import OUTPUT_KEYS, PROJECT
from stacks.config import ConfigError
from stacks.mockrun import Run, run_stack, stack_config
from tests.unit._stack_runs import stack_run

REGION = "ap-southeast-7"
SINK_ROLE_POLICY = "kde-prod-s3-sink-role-policy"
MWAA_ROLE_POLICY = "kde-prod-airflow-execution-policy"


def prod() -> Run:
    return stack_run("prod")


def _policy(name: str) -> dict[str, Any]:
    return json.loads(prod().named(name).inputs["policy"])


def _variant(**overrides: str) -> Run:
    config, secret_keys = stack_config("prod")
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    return run_stack("prod", config, secret_keys)


# --- outputs -------------------------------------------------------------------------------------------


def test_outputs_are_exactly_the_contract_keys() -> None:
    assert tuple(prod().outputs) == OUTPUT_KEYS
    assert prod().outputs["kafka_auth"] == {"mechanism": "AWS_MSK_IAM", "region": REGION}
    assert prod().outputs["aws_credentials"] is None  # roles and the default chain, no keys


def test_the_brokers_are_msk_iam_and_the_sink_writes_the_landing_prefix() -> None:
    outputs = prod().outputs
    assert all(server.endswith(":9098") for server in outputs["kafka_bootstrap_servers"].split(","))
    assert outputs["s3_sink"] == {
        "connector": "s3-sink-kde",
        "topics": ["cards-data"],
        "bucket": "kde-prod-landing",
        "prefix": "kafka/topics",
        "flavour": "confluent",
        "dead_letter_topic": "s3-sink-kde-dlq",
    }


# --- network -------------------------------------------------------------------------------------------


def test_no_public_subnet_no_internet_route_no_public_ip() -> None:
    types = Counter(r.type for r in prod().resources)
    for public in ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"):
        assert types[public] == 0, public
    assert all(r.type != "aws:ec2/route:Route" for r in prod().resources)
    subnets = prod().of_type("aws:ec2/subnet:Subnet")
    assert len({s.inputs["availabilityZone"] for s in subnets}) >= 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    broker_info = prod().of_type("aws:msk/cluster:Cluster")[0].inputs["brokerNodeGroupInfo"]
    assert broker_info["connectivityInfo"]["publicAccess"]["type"] == "DISABLED"
    assert prod().of_type("aws:ecs/service:Service")[0].inputs["networkConfiguration"]["assignPublicIp"] is False
    assert prod().of_type("aws:lb/loadBalancer:LoadBalancer")[0].inputs["internal"] is True
    assert prod().of_type("aws:mwaa/environment:Environment")[0].inputs["webserverAccessMode"] == "PRIVATE_ONLY"


def test_s3_is_reached_through_a_gateway_endpoint_on_the_private_routes() -> None:
    gateways = [
        e for e in prod().of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Gateway"
    ]
    assert [g.inputs["serviceName"] for g in gateways] == [f"com.amazonaws.{REGION}.s3"]
    assert gateways[0].inputs["routeTableIds"] == ["kde-prod-vpc-private-id"]


def test_security_groups_admit_only_what_each_service_needs() -> None:
    groups = {
        r.name.removeprefix("kde-prod-vpc-"): r.inputs for r in prod().of_type("aws:ec2/securityGroup:SecurityGroup")
    }
    for name, group in groups.items():
        for rule in group["ingress"]:
            assert "0.0.0.0/0" not in rule.get("cidrBlocks", []), name
    msk = groups["msk"]["ingress"]
    assert [(r["fromPort"], r["toPort"]) for r in msk] == [(9098, 9098)]
    assert set(msk[0]["securityGroups"]) == {f"kde-prod-vpc-{r}-id" for r in ("connect", "registry", "mwaa")}
    assert groups["msk"]["egress"] == []
    registry = groups["registry"]["ingress"]
    assert [(r["fromPort"], r["securityGroups"]) for r in registry] == [(8081, ["kde-prod-vpc-registry-lb-id"])]
    assert groups["connect"]["ingress"] == []


# --- MSK -----------------------------------------------------------------------------------------------


def test_msk_has_iam_auth_only_tls_and_encryption_at_rest() -> None:
    cluster = prod().of_type("aws:msk/cluster:Cluster")[0].inputs
    assert cluster["numberOfBrokerNodes"] >= 3
    assert cluster["numberOfBrokerNodes"] % len(prod().of_type("aws:ec2/subnet:Subnet")) == 0
    assert cluster["clientAuthentication"] == {"sasl": {"iam": True, "scram": False}, "unauthenticated": False}
    assert cluster["encryptionInfo"]["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
    assert cluster["encryptionInfo"]["encryptionAtRestKmsKeyArn"].startswith("arn:")
    assert prod().of_type("aws:kms/key:Key")[0].inputs["enableKeyRotation"] is True
    properties = prod().of_type("aws:msk/configuration:Configuration")[0].inputs["serverProperties"]
    assert {"auto.create.topics.enable=false", "min.insync.replicas=2", "default.replication.factor=3"} <= set(
        properties.splitlines()
    )


def test_topics_are_msk_resources_with_replication_3_and_min_insync_2() -> None:
    topics = prod().of_type("aws:msk/topic:Topic")
    expected = {*prod().outputs["kafka_topics"].values(), "_schemas", prod().outputs["s3_sink"]["dead_letter_topic"]}
    assert {t.inputs["name"] for t in topics} == expected
    for topic in topics:
        assert topic.inputs["replicationFactor"] == 3
        assert json.loads(topic.inputs["configs"])["min.insync.replicas"] == "2"
    assert not prod().of_type("pulumi-python:dynamic/kafka:Topic")  # no data-plane topic creation on prod


def test_msk_serverless_is_selectable_by_config() -> None:
    run = _variant(mskMode="serverless")
    assert not run.of_type("aws:msk/cluster:Cluster")
    serverless = run.of_type("aws:msk/serverlessCluster:ServerlessCluster")[0].inputs
    assert serverless["clientAuthentication"] == {"sasl": {"iam": {"enabled": True}}}
    assert run.outputs["kafka_bootstrap_servers"].endswith(":9098")


def test_managed_engines_go_together_and_need_the_mongodb_uri() -> None:
    with pytest.raises(ConfigError, match="streaming"):
        _variant(orchestration="docker")
    config, secret_keys = stack_config("prod")
    del config[f"{PROJECT}:mongodbUri"]
    with pytest.raises(Exception, match="mongodbUri"):
        run_stack("prod", config, secret_keys)


# --- the S3 sink on MSK Connect ------------------------------------------------------------------------


def test_no_access_key_or_user_on_prod() -> None:
    types = {r.type for r in prod().resources}
    assert "aws:iam/accessKey:AccessKey" not in types
    assert "aws:iam/user:User" not in types
    assert "pulumi-python:dynamic/kafka-connect:Connector" not in types


def test_sink_role_writes_only_under_the_landing_sink_prefix() -> None:
    statements = _policy(SINK_ROLE_POLICY)["Statement"]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in s["Action"])]
    assert all(a.startswith("s3:") for s in s3 for a in s["Action"])  # no statement mixes services
    objects = [s for s in s3 if s["Resource"] != "arn:aws:s3:::kde-prod-landing"]
    assert [s["Resource"] for s in objects] == ["arn:aws:s3:::kde-prod-landing/kafka/topics/*"]
    assert set(objects[0]["Action"]) <= {
        "s3:PutObject",
        "s3:GetObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    listing = [s for s in s3 if s["Resource"] == "arn:aws:s3:::kde-prod-landing"]
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": ["kafka/topics/*", "kafka/topics"]}}
    others = [s for s in statements if s not in s3]
    assert all(a.startswith("kafka-cluster:") for s in others for a in s["Action"])
    assert all("*" not in a for s in statements for a in s["Action"])


def test_sink_role_reads_only_its_topic() -> None:
    reads = next(s for s in _policy(SINK_ROLE_POLICY)["Statement"] if s.get("Sid") == "ReadTopics")
    assert [r.rsplit("/", 1)[-1] for r in reads["Resource"]] == ["cards-data"]
    assert "kafka-cluster:WriteData" not in reads["Action"]


def test_connector_autoscales_logs_to_cloudwatch_and_uses_iam_tls() -> None:
    connector = prod().of_type("aws:mskconnect/connector:Connector")[0].inputs
    scaling = connector["capacity"]["autoscaling"]
    assert scaling["minWorkerCount"] < scaling["maxWorkerCount"]
    assert connector["kafkaClusterClientAuthentication"] == {"authenticationType": "IAM"}
    assert connector["kafkaClusterEncryptionInTransit"] == {"encryptionType": "TLS"}
    assert connector["logDelivery"]["workerLogDelivery"]["cloudwatchLogs"]["enabled"] is True
    assert connector["serviceExecutionRoleArn"].endswith("/kde-prod-s3-sink-role")
    config = connector["connectorConfiguration"]
    assert not any("secret" in k or "access.key" in k for k in config)
    assert config["value.converter.schema.registry.url"] == prod().outputs["schema_registry_url"]
    plugin = prod().of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    zips = [p for p in plugin if p.inputs["key"].startswith("connect-plugins/")]
    assert zips[0].inputs["source"].startswith("FileAsset(") and zips[0].inputs["bucket"] == "kde-prod-artifact"


# --- MWAA ----------------------------------------------------------------------------------------------

MWAA_ACTIONS = {
    "airflow:PublishMetrics",
    "s3:ListAllMyBuckets",  # denied
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "logs:CreateLogStream",
    "logs:CreateLogGroup",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:GetLogRecord",
    "logs:GetLogGroupFields",
    "logs:GetQueryResults",
    "logs:DescribeLogGroups",
    "s3:GetAccountPublicAccessBlock",
    "cloudwatch:PutMetricData",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey*",
    "kms:Encrypt",
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    # what the DAGs do
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:DescribeTable",
    "kafka-cluster:Connect",
    "kafka-cluster:DescribeCluster",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:WriteData",
}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_mwaa_role_holds_only_what_mwaa_and_the_dags_need() -> None:
    statements = _policy(MWAA_ROLE_POLICY)["Statement"]
    assert {a for s in statements for a in _actions(s)} == MWAA_ACTIONS
    star = [s["Sid"] for s in statements if s.get("Resource") == "*"]
    assert sorted(star) == ["AccountPublicAccessBlock", "DescribeLogGroups", "Metrics"]  # AWS's own list
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["AirflowSecrets"]["Resource"] == [
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:airflow/connections/*",
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:airflow/variables/*",
    ]
    assert by_sid["ReadArtifacts"]["Resource"] == ["arn:aws:s3:::kde-prod-artifact", "arn:aws:s3:::kde-prod-artifact/*"]
    assert by_sid["LandingObjects"]["Resource"] == "arn:aws:s3:::kde-prod-landing/*"
    assert by_sid["NoBucketListing"]["Effect"] == "Deny"


def test_mwaa_ships_the_dags_plugins_and_requirements_to_the_artifact_bucket() -> None:
    objects = {o.inputs["key"]: o.inputs for o in prod().of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert {"dags/load_sources.py", "dags/finance_mongo_s3.py", "plugins.zip", "requirements.txt"} <= set(objects)
    assert all(o["bucket"] == "kde-prod-artifact" for o in objects.values())
    assert "aws-msk-iam-sasl-signer-python==1.0.2" in objects["requirements.txt"]["source"]
    env = prod().of_type("aws:mwaa/environment:Environment")[0].inputs
    assert env["sourceBucketArn"] == "arn:aws:s3:::kde-prod-artifact"
    assert (env["dagS3Path"], env["pluginsS3Path"], env["requirementsS3Path"]) == (
        "dags",
        "plugins.zip",
        "requirements.txt",
    )
    assert len(env["networkConfiguration"]["subnetIds"]) == 2


def test_airflow_reads_its_settings_from_secrets_manager() -> None:
    options = airflow_configuration(REGION)
    assert options["secrets.backend"] == ("airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend")
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "connections_prefix": "airflow/connections",
        "variables_prefix": "airflow/variables",
        "region_name": REGION,
    }
    env = prod().of_type("aws:mwaa/environment:Environment")[0].inputs
    assert env["airflowConfigurationOptions"] == "[secret]"  # the provider keeps them secret in the state


def test_airflow_settings_are_secrets_never_plain_text() -> None:
    run = prod()
    names = sorted(s.inputs["name"] for s in run.of_type("aws:secretsmanager/secret:Secret"))
    assert names == ["airflow/connections/mongo_default", "airflow/variables/stack_outputs"]
    assert {v.inputs["secretString"] for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")} == {
        "[secret]"
    }
    assert not [r for r in run.resources if r.type.startswith("pulumi-python:dynamic/airflow:")]
    assert "mongodb_uri" in run.secret_outputs
    plain = json.dumps([r.inputs for r in run.resources]) + json.dumps(run.outputs)
    assert "mongodb.invalid" not in plain and "plan:placeholder" not in plain


def test_subjects_are_on_the_confluent_api_registry() -> None:
    subjects = prod().of_type("pulumi-python:dynamic/schema-registry:Subject")
    assert {s.inputs["registry_url"] for s in subjects} == {prod().outputs["schema_registry_url"]}
    assert len(subjects) == len(prod().outputs["kafka_topics"])


def test_kafka_topics_map_datasets_to_topics_as_on_every_stack() -> None:
    assert prod().outputs["kafka_topics"] == stack_run("local").outputs["kafka_topics"]


# --- the MSK IAM client path ---------------------------------------------------------------------------


@pytest.fixture
def dummy_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's credential chain stops at the environment: dummy keys, no profile, no instance metadata."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEDUMMY0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret-key-for-local-signing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def test_null_kafka_auth_adds_nothing() -> None:
    assert kafka_config({"kafka_bootstrap_servers": "h:9092"}) == {"bootstrap.servers": "h:9092"}
    assert kafka_config({"kafka_bootstrap_servers": "h:9092", "kafka_auth": None}, **{"group.id": "g"}) == {
        "bootstrap.servers": "h:9092",
        "group.id": "g",
    }


def test_an_unknown_mechanism_is_refused() -> None:
    with pytest.raises(ValueError, match="SCRAM"):
        kafka_auth.kafka_auth_config({"kafka_auth": {"mechanism": "SCRAM", "region": REGION}})


@pytest.mark.usefixtures("dummy_aws_credentials")
def test_msk_iam_token_is_signed_locally_for_the_region() -> None:
    token, expiry = kafka_auth.msk_iam_token(REGION)
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parts = urlsplit(url)
    assert parts.hostname == f"kafka.{REGION}.amazonaws.com"
    query = parse_qs(parts.query)
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLEDUMMY0000/") and REGION in query["X-Amz-Credential"][0]
    assert time.time() < expiry < time.time() + 3600


@pytest.mark.usefixtures("dummy_aws_credentials")
def test_producer_accepts_the_msk_iam_config_and_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from confluent_kafka import Producer

    calls: list[str] = []
    signer = kafka_auth.msk_iam_token

    def spy(region: str) -> tuple[str, float]:
        calls.append(region)
        return signer(region)

    monkeypatch.setattr(kafka_auth, "msk_iam_token", spy)
    outputs = {**prod().raw_outputs, "kafka_bootstrap_servers": "127.0.0.1:1"}  # nothing listens: no broker
    errors: list[str] = []
    config = kafka_config(outputs, **{"client.id": "unit", "error_cb": lambda error: errors.append(error.str())})
    assert (config["security.protocol"], config["sasl.mechanisms"]) == ("SASL_SSL", "OAUTHBEARER")
    producer = Producer(config)  # librdkafka asks oauth_cb for a token before it connects
    try:
        deadline = time.monotonic() + 60  # against a hang only: the refusal comes at once
        while not errors and time.monotonic() < deadline:
            producer.poll(0.2)
    finally:
        producer.close()
    assert calls and set(calls) == {REGION}
    # with the token taken, it went on to the outputs' broker over SASL_SSL (and found nobody there); a refused
    # token would be an OAUTHBEARER error instead
    assert errors and errors[0].startswith("sasl_ssl://127.0.0.1:1/"), errors
    assert not [e for e in errors if "OAUTHBEARER" in e.upper() or "token" in e.lower()], errors


# --- the deployment pictures ---------------------------------------------------------------------------


def test_deployment_pictures_are_generated_from_the_current_plans() -> None:
    from stacks.graph import DOC, docs_text

    assert DOC.read_text(encoding="utf-8") == docs_text(), "regenerate with `python -m stacks graph --docs`"


def test_the_picture_nests_resources_under_their_components() -> None:
    from stacks.graph import mermaid

    text = mermaid(prod())
    # the Msk component's box, from its line to its own `end`: the resources it declares, written out
    lines = [line.strip() for line in text[text.index('["msk: Msk"]') :].splitlines()]
    box = [line.split('["', 1)[-1].rstrip('"]') for line in lines[1 : lines.index("end")]]
    assert box == [
        "aws cloudwatch.LogGroup<br/>kde-prod-kafka-brokers",
        "aws kms.Key<br/>kde-prod-kafka-at-rest",
        "aws msk.Cluster<br/>kde-prod-kafka",
        "aws msk.Configuration<br/>kde-prod-kafka-config",
        "aws msk.Topic<br/>7 resources",
    ]
    assert "pulumi:providers" not in text and "providers" not in text
