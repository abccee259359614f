"""AWS lake: the seed's four S3 buckets and the DynamoDB tables per dataset, secure by default,
plus an IAM user scoped to the landing bucket's sink prefix for the S3 sink connector."""

from __future__ import annotations

import json
from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components._outputs import output_map
from contract import naming
from schemas import load as load_schema


class AwsLakeArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    dynamodb_datasets: NotRequired[list[str]]
    force_destroy: NotRequired[bool]
    create_sink_user: NotRequired[bool]  # False on emulators: moto accepts any key
    sink_prefix: NotRequired[str]
    noncurrent_version_days: NotRequired[int]


class AwsLake(pulumi.ComponentResource):
    buckets: dict[str, aws.s3.Bucket]
    tables: dict[str, aws.dynamodb.Table]
    bucket_names: pulumi.Output[dict[str, str]]
    table_names: pulumi.Output[dict[str, str]]
    sink_access_key_id: pulumi.Output[str] | None
    sink_secret_access_key: pulumi.Output[str] | None

    def __init__(self, name: str, args: AwsLakeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:lake:AwsLake", name, None, opts)
        prefix, stack = args["prefix"], args["stack"]
        child = pulumi.ResourceOptions(parent=self)
        self.buckets = {
            role: self._bucket(naming.s3_bucket(prefix, stack, role), args, child) for role in naming.S3_BUCKET_ROLES
        }
        self.tables = {
            dataset: self._table(naming.dynamodb_table(prefix, stack, dataset), dataset, child)
            for dataset in args.get("dynamodb_datasets", naming.DYNAMODB_DATASETS)
        }
        self.bucket_names = output_map({r: b.bucket for r, b in self.buckets.items()})
        self.table_names = output_map({d: t.name for d, t in self.tables.items()})
        self.sink_access_key_id = None
        self.sink_secret_access_key = None
        if args.get("create_sink_user", True):
            self._sink_user(
                naming.resource_name(prefix, stack, "s3-sink"), args.get("sink_prefix", naming.S3_SINK_PREFIX), child
            )
        self.register_outputs({"bucket_names": self.bucket_names, "table_names": self.table_names})

    def _bucket(self, name: str, args: AwsLakeArgs, opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
        bucket = aws.s3.Bucket(name, bucket=name, force_destroy=args.get("force_destroy", False), opts=opts)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}, "bucket_key_enabled": True}
            ],
            opts=opts,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": args.get("noncurrent_version_days", 30)},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=opts,
        )
        return bucket

    def _table(self, name: str, dataset: str, opts: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        keys = load_schema(dataset).dynamodb_keys()
        roles = {key.role: key.attribute for key in keys}
        table_attributes: list[aws.dynamodb.TableAttributeArgsDict] = [
            {"name": key.attribute, "type": key.type} for key in keys
        ]
        return aws.dynamodb.Table(
            name,
            name=name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=roles["HASH"],
            range_key=roles.get("RANGE"),
            attributes=table_attributes,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=opts,
        )

    def _sink_user(self, name: str, sink_prefix: str, opts: pulumi.ResourceOptions) -> None:
        user = aws.iam.User(name, name=name, opts=opts)
        landing = self.buckets["landing"]
        aws.iam.UserPolicy(
            f"{name}-landing-write",
            user=user.name,
            policy=landing.arn.apply(lambda arn: json.dumps(sink_policy(arn, sink_prefix))),
            opts=opts,
        )
        key = aws.iam.AccessKey(f"{name}-key", user=user.name, opts=opts)
        self.sink_access_key_id = pulumi.Output.secret(key.id)
        self.sink_secret_access_key = pulumi.Output.secret(key.secret)


def sink_policy(bucket_arn: str, sink_prefix: str) -> dict:
    """Least privilege for the S3 sink: list its prefix, read/write objects under it, nothing else."""
    prefix = sink_prefix.strip("/")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListSinkPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
            },
            {
                "Sid": "WriteSinkObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
        ],
    }
