"""DynamoDB tables derived from the pynamodb models: the schemas live once, in chalicelib/store/models.py.

Each model's keys, attribute types, global secondary indexes (with projections) and TTL attribute
become one on-demand table with point-in-time recovery. tests/infra proves the synthesized
tables and the models agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from chalicelib.store.models import ALL_MODELS, BaseModel

_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


@dataclass(frozen=True)
class TableSpec:
    """One table as the model declares it (in DynamoDB's CreateTable vocabulary)."""

    suffix: str
    partition_key: tuple[str, str]
    sort_key: tuple[str, str] | None
    indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: tuple[str, str]
    sort_key: tuple[str, str] | None
    projection: str
    non_key_attributes: tuple[str, ...] = ()


def _keys(key_schema: list[dict[str, str]], types: dict[str, str]) -> tuple[tuple[str, str], tuple[str, str] | None]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in key_schema}
    hash_name, range_name = by_type["HASH"], by_type.get("RANGE")
    return (hash_name, types[hash_name]), ((range_name, types[range_name]) if range_name else None)


def spec_of(model: type[BaseModel]) -> TableSpec:
    """Read a model's schema through pynamodb (the same schema its create_table would send)."""
    schema = model._get_schema()
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    partition, sort = _keys(schema["key_schema"], types)
    indexes = []
    for index in schema["global_secondary_indexes"]:
        index_types = {d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]}
        i_partition, i_sort = _keys(index["key_schema"], index_types)
        projection = index["projection"]
        indexes.append(
            IndexSpec(
                index["index_name"],
                i_partition,
                i_sort,
                projection["ProjectionType"],
                tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    if schema["local_secondary_indexes"]:
        raise ValueError(f"{model.__name__}: local secondary indexes are not supported by the infra")
    return TableSpec(model.table_suffix, partition, sort, tuple(sorted(indexes, key=lambda i: i.name)), model.ttl_attribute)


def table_specs() -> list[TableSpec]:
    return [spec_of(model) for model in ALL_MODELS]


def _attribute(key: tuple[str, str] | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=key[0], type=_TYPES[key[1]]) if key else None


def build_tables(scope: Construct, prefix: str, *, protect: bool) -> dict[str, dynamodb.Table]:
    """One table per model, named `<prefix>-<table_suffix>` (the app's TABLE_PREFIX convention)."""
    tables: dict[str, dynamodb.Table] = {}
    for spec in table_specs():
        table = dynamodb.Table(
            scope,
            f"Table-{spec.suffix}",
            table_name=f"{prefix}-{spec.suffix}",
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            deletion_protection=protect,
            time_to_live_attribute=spec.ttl_attribute,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN if protect else RemovalPolicy.DESTROY,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key),
                projection_type=_PROJECTIONS[index.projection],
                non_key_attributes=list(index.non_key_attributes) or None,
            )
        tables[spec.suffix] = table
    return tables
