"""Stack `prod` under the mock runtime: the managed engines are private, authenticated, encrypted and scoped
(outputs, network, MSK, the S3 sink on MSK Connect, the deployment pictures). MWAA and its Airflow settings:
test_prod_stack_mwaa.py; the MSK IAM client path (contract.kafka_auth): test_prod_msk_iam_client.py."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from contract.outputs import OUTPUT_KEYS, PROJECT
from stacks.config import ConfigError
from stacks.mockrun import Run, run_stack, stack_config
from tests.unit._prod_stack import REGION, policy, prod

SINK_ROLE_POLICY = "kde-prod-s3-sink-role-policy"


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
    statements = policy(SINK_ROLE_POLICY)["Statement"]
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
    reads = next(s for s in policy(SINK_ROLE_POLICY)["Statement"] if s.get("Sid") == "ReadTopics")
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
