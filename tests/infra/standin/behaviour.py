"""What the stand-in provider says AWS would answer: plausible, deterministic values.

Nothing here talks to AWS. Identifiers follow AWS's documented ARN formats for the resource
types this project uses (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
and each service's "Resource types defined by ..." table in the Service Authorization
Reference), so that values the configuration validates or interpolates (ARN regexes, ARN
prefixes built from aws_partition/aws_region/aws_caller_identity) look like the real ones.
Other resource types get a generic `arn:aws:<service>:<region>:<account>:<type>/<name>`.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from tf.types import Unknown

from .values import NOT_SPECIAL, digest, zero

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DNS_SUFFIX = "amazonaws.com"

# The attribute that names a resource, per type (the first one set wins).
NAME_KEYS = (
    "name",
    "bucket",
    "function_name",
    "table_name",
    "database_name",
    "rule",
    "alarm_name",
    "statement_id",
    "event_bus_name",
    "queue_url",
)

# ARN templates: {p} partition, {r} region, {a} account, {n} name, {h} a digest, {s} state keys.
ARN_FORMATS = {
    "aws_cloudwatch_event_bus": "arn:{p}:events:{r}:{a}:event-bus/{n}",
    "aws_cloudwatch_event_rule": "arn:{p}:events:{r}:{a}:rule/{bus}{n}",
    "aws_cloudwatch_event_archive": "arn:{p}:events:{r}:{a}:archive/{n}",
    "aws_cloudwatch_log_group": "arn:{p}:logs:{r}:{a}:log-group:{n}",
    "aws_cloudwatch_metric_alarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
    "aws_iam_role": "arn:{p}:iam::{a}:role{path}{n}",
    "aws_iam_policy": "arn:{p}:iam::{a}:policy{path}{n}",
    "aws_lambda_function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "aws_lambda_event_source_mapping": "arn:{p}:lambda:{r}:{a}:event-source-mapping:{uuid}",
    "aws_s3_bucket": "arn:{p}:s3:::{n}",
    "aws_sns_topic": "arn:{p}:sns:{r}:{a}:{n}",
    "aws_sns_topic_subscription": "arn:{p}:sns:{r}:{a}:{topic}:{uuid}",
    "aws_sqs_queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "aws_secretsmanager_secret": "arn:{p}:secretsmanager:{r}:{a}:secret:{n}-{h6}",
    "aws_timestreamwrite_database": "arn:{p}:timestream:{r}:{a}:database/{n}",
    "aws_timestreamwrite_table": "arn:{p}:timestream:{r}:{a}:database/{db}/table/{n}",
    "aws_timestreaminfluxdb_db_instance": "arn:{p}:timestream-influxdb:{r}:{a}:db-instance/{short}",
    "aws_security_group": "arn:{p}:ec2:{r}:{a}:security-group/sg-{h17}",
    "aws_vpc_security_group_ingress_rule": "arn:{p}:ec2:{r}:{a}:security-group-rule/sgr-{h17}",
    "aws_vpc_security_group_egress_rule": "arn:{p}:ec2:{r}:{a}:security-group-rule/sgr-{h17}",
    "aws_vpc_endpoint": "arn:{p}:ec2:{r}:{a}:vpc-endpoint/vpce-{h17}",
}


def _name(state: dict) -> str | None:
    for key in NAME_KEYS:
        v = state.get(key)
        if isinstance(v, str) and v:
            return v
    return None


class Aws:
    """Answers for one provider instance (its configured region and default tags)."""

    def __init__(self):
        self.region = "us-east-1"
        self.default_tags: dict[str, str] = {}

    def configure(self, config: dict | None) -> None:
        # A process Terraform attaches to is configured again by every command: start afresh.
        self.region = "us-east-1"
        self.default_tags = {}
        if not config:
            return
        if isinstance(config.get("region"), str):
            self.region = config["region"]
        for dt in config.get("default_tags") or []:
            tags = dt.get("tags") if isinstance(dt, dict) else None
            if isinstance(tags, dict):
                self.default_tags.update(tags)

    # -- planning --------------------------------------------------------------------------
    def special(self, type_name: str):
        """The `values.Special` of a resource type: region and tags_all are known at plan time
        (the provider's region, the default tags merged under the resource's own), the
        resource's own `id` is unknown until apply."""

        def decide(name: str, path: tuple, obj: dict) -> Any:
            if not type_name.startswith("aws_"):
                return NOT_SPECIAL if not (name == "id" and len(path) == 1) else Unknown
            if name == "region" and len(path) == 1:
                return self.region
            if name == "tags_all" and len(path) == 1:
                tags = obj.get("tags")
                if tags is Unknown:
                    return Unknown
                return {**self.default_tags, **(tags or {})}
            if name == "id" and len(path) == 1:
                return Unknown
            return NOT_SPECIAL

        return decide

    # -- applying --------------------------------------------------------------------------
    def generator(self, type_name: str, planned: dict):
        """The `gen` for values.fill: what AWS would return for each unknown attribute."""
        name = _name(planned) or type_name.replace("_", "-")
        h = digest({k: v for k, v in planned.items() if k not in ("id", "arn")}, 40)

        def arn() -> str:
            fmt = ARN_FORMATS.get(type_name)
            if fmt is None:
                service = type_name.split("_")[1] if type_name.count("_") >= 1 else type_name
                fmt = "arn:{p}:" + service + ":{r}:{a}:" + type_name.split("_", 2)[-1].replace("_", "-") + "/{n}"
            path = planned.get("path") if isinstance(planned.get("path"), str) else "/"
            bus = planned.get("event_bus_name")
            bus = f"{bus}/" if isinstance(bus, str) and bus not in ("", "default") else ""
            topic = planned.get("topic_arn")
            topic = topic.rsplit(":", 1)[-1] if isinstance(topic, str) else "topic"
            return fmt.format(
                p=PARTITION,
                r=self.region,
                a=ACCOUNT_ID,
                n=name,
                h6=h[:6],
                h17=h[:17],
                short=h[:10],
                uuid=f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}",
                path=path,
                bus=bus,
                db=planned.get("database_name") or "db",
                topic=topic,
            )

        def gen(ty: Any, attr: str, path: tuple) -> Any:
            if ty != "string":
                return zero(ty, f"standin-{attr}-{h[:8]}")
            top = len(path) == 1
            if top and attr == "arn":
                return arn()
            if top and attr == "id":
                return self._id(type_name, planned, name, h, arn)
            if top and attr == "url" and type_name == "aws_sqs_queue":
                return f"https://sqs.{self.region}.{DNS_SUFFIX}/{ACCOUNT_ID}/{name}"
            if top and attr == "invoke_arn" and type_name == "aws_lambda_function":
                return f"arn:{PARTITION}:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn()}/invocations"
            if top and attr in ("qualified_arn",) and type_name == "aws_lambda_function":
                return f"{arn()}:$LATEST"
            if top and attr == "endpoint" and type_name == "aws_timestreaminfluxdb_db_instance":
                return f"{h[:10]}-{h[10:20]}.{self.region}.timestream-influxdb.{DNS_SUFFIX}"
            if attr.endswith("_secret_arn"):
                return f"arn:{PARTITION}:secretsmanager:{self.region}:{ACCOUNT_ID}:secret:{attr}-{h[:6]}"
            if attr.endswith("_arn") or attr == "arn":
                return arn()
            return f"standin-{attr}-{h[:8]}"

        return gen

    def _id(self, type_name: str, planned: dict, name: str, h: str, arn) -> str:
        if type_name in ("aws_sqs_queue",):
            return f"https://sqs.{self.region}.{DNS_SUFFIX}/{ACCOUNT_ID}/{name}"
        if type_name in ("aws_sns_topic", "aws_secretsmanager_secret", "aws_sns_topic_subscription"):
            return arn()
        if type_name in ("aws_security_group",):
            return f"sg-{h[:17]}"
        if type_name in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
            return f"sgr-{h[:17]}"
        if type_name == "aws_vpc_endpoint":
            return f"vpce-{h[:17]}"
        if type_name == "aws_timestreaminfluxdb_db_instance":
            return h[:10]
        if type_name == "aws_timestreamwrite_table":
            return f"{planned.get('table_name')}:{planned.get('database_name')}"
        if type_name == "aws_cloudwatch_event_rule":
            bus = planned.get("event_bus_name") or "default"
            return name if bus == "default" else f"{bus}|{name}"
        if type_name == "aws_lambda_event_source_mapping":
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
        return name if _name(planned) else h[:20]

    # -- data sources ----------------------------------------------------------------------
    def read_data(self, type_name: str, config: dict) -> dict:
        """The state of a data source: fixed identity answers, a rendered policy document, or
        the configuration with its computed attributes filled."""
        if type_name == "aws_caller_identity":
            return {
                **config,
                "account_id": ACCOUNT_ID,
                "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/standin",
                "user_id": "AIDASTANDINSTANDIN000",
                "id": ACCOUNT_ID,
            }
        if type_name == "aws_partition":
            return {
                **config,
                "partition": PARTITION,
                "dns_suffix": DNS_SUFFIX,
                "reverse_dns_prefix": "com.amazonaws",
                "id": PARTITION,
            }
        if type_name == "aws_region":
            region = config.get("region") or config.get("name") or self.region
            return {
                **config,
                "region": region,
                "name": region,
                "id": region,
                "endpoint": f"ec2.{region}.{DNS_SUFFIX}",
                "description": f"stand-in {region}",
            }
        if type_name == "aws_iam_policy_document":
            return {**config, **render_policy_document(config)}
        return config


# ---------------------------------------------------------------------------------------------
# aws_iam_policy_document, rendered as hashicorp/aws renders it
# (internal/service/iam/policy_document_data_source.go and policy_model.go): statements in
# order; Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal,
# Condition in that order; a one-element list becomes a string, longer lists are sorted in
# reverse; principals grouped by type; conditions by test, then variable, values in order;
# "&{" becomes "${"; JSON indented by two spaces with Go's HTML escaping; the id is the CRC-32
# of the JSON. source_policy_documents merge first, override_policy_documents last (by Sid).
# ---------------------------------------------------------------------------------------------


def _strings(values: list[str]) -> Any:
    values = list(values)
    if len(values) == 1:
        return values[0]
    return sorted(values, reverse=True)


def _vars(v: Any) -> Any:
    if isinstance(v, str):
        return v.replace("&{", "${")
    return [x.replace("&{", "${") for x in v]


def _principals(blocks: list[dict]) -> Any:
    if len(blocks) == 1 and blocks[0]["type"] == "*" and list(blocks[0]["identifiers"]) == ["*"]:
        return "*"
    raw: dict[str, Any] = {}
    for b in blocks:
        ids = _vars(_strings(b["identifiers"]))
        prev = raw.get(b["type"])
        if isinstance(ids, list):
            ids = sorted(ids, reverse=True)
            raw[b["type"]] = ([prev] if isinstance(prev, str) else (prev or [])) + ids
        elif prev is None:
            raw[b["type"]] = ids
        else:
            raw[b["type"]] = ([prev] if isinstance(prev, str) else prev) + [ids]
    return {k: raw[k] for k in sorted(raw)}


def _conditions(blocks: list[dict]) -> dict:
    raw: dict[str, dict[str, list[str]]] = {}
    for c in blocks:
        raw.setdefault(c["test"], {}).setdefault(c["variable"], []).extend(_vars(list(c["values"])))
    return {t: {v: (vals[0] if len(vals) == 1 else vals) for v, vals in sorted(raw[t].items())} for t in sorted(raw)}


def _statement(st: dict) -> dict:
    out: dict[str, Any] = {}
    if st.get("sid"):
        out["Sid"] = st["sid"]
    out["Effect"] = st.get("effect") or "Allow"
    for key, attr in (("Action", "actions"), ("NotAction", "not_actions")):
        if st.get(attr):
            out[key] = _strings(st[attr])
    for key, attr in (("Resource", "resources"), ("NotResource", "not_resources")):
        if st.get(attr):
            out[key] = _vars(_strings(st[attr]))
    for key, attr in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        if st.get(attr):
            out[key] = _principals(st[attr])
    if st.get("condition"):
        out["Condition"] = _conditions(st["condition"])
    return out


def _merge(doc: dict, new: dict) -> None:
    if new.get("Id"):
        doc["Id"] = new["Id"]
    if new.get("Version", "") > doc.get("Version", ""):
        doc["Version"] = new["Version"]
    for st in new.get("Statement", []):
        sid = st.get("Sid")
        for i, existing in enumerate(doc.setdefault("Statement", [])):
            if sid and existing.get("Sid") == sid:
                doc["Statement"][i] = st
                break
        else:
            doc["Statement"].append(st)


def _go_json(value: Any, indent: int | None) -> str:
    text = json.dumps(value, indent=indent, ensure_ascii=False, separators=(",", ": ") if indent else (",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _ordered(doc: dict) -> dict:
    out = {}
    for key in ("Version", "Id"):
        if doc.get(key):
            out[key] = doc[key]
    if doc.get("Statement"):
        out["Statement"] = doc["Statement"]
    return out


def render_policy_document(config: dict) -> dict:
    """json, minified_json and id of an aws_iam_policy_document configuration."""
    merged: dict = {}
    for src in config.get("source_policy_documents") or []:
        if src is not None:
            _merge(merged, json.loads(src))
    doc: dict = {"Version": config.get("version") or "2012-10-17"}
    if config.get("policy_id"):
        doc["Id"] = config["policy_id"]
    statements = [_statement(st) for st in config.get("statement") or []]
    if statements:
        doc["Statement"] = statements
    _merge(merged, doc)
    for ov in config.get("override_policy_documents") or []:
        if ov is not None:
            _merge(merged, json.loads(ov))
    merged = _ordered(merged)
    text = _go_json(merged, 2)
    return {
        "json": text,
        "minified_json": _go_json(merged, None),
        "id": str(zlib.crc32(text.encode())),
        "version": config.get("version") or "2012-10-17",
    }
