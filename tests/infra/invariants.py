"""The wiring invariants of infra/, as functions over the parsed HCL.

Each check takes an `Infra` and returns the list of violations it finds (empty = the invariant
holds). test_invariants.py asserts every check is clean on the real tree; test_mutations.py
breaks each invariant in a copy of infra/ and asserts its check notices.

The checks follow the wiring rather than trusting names where they can: "the events queue" is
whatever queue an event source mapping reads, "the recorder" whatever function it invokes,
"a DLQ" whatever queue a redrive policy, a rule target or a function names as dead-letter queue.

Where the configuration depends on inputs (the core module's `sink`), checks evaluate it under
each scenario of `SCENARIOS` with `tfmodel.Scenario`: what exists, which dynamic blocks expand,
which branch a conditional takes. A condition the model cannot decide is a finding, not a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import emitted
from tfmodel import Expr, Infra, Module, Opaque, Scenario, Undecidable, all_blocks, as_list, blocks, first, refs, single_ref, text_of

Check = Callable[[Infra], list[str]]
CHECKS: dict[str, Check] = {}


def invariant(fn: Check) -> Check:
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


def _where(mod: Module, kind: str, name: str) -> str:
    return f"{mod.rel}: {kind}.{name}"


def _statements(doc: dict) -> list[dict]:
    """Every statement a policy document can produce: static ones and dynamic ones."""
    return all_blocks(doc, "statement")


# An ARN of one Secrets Manager secret, to evaluate the configuration with a caller's secret.
SAMPLE_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:filetrail/influxdb-token-AbCdEf"


def _scenarios(mod: Module) -> list[Scenario]:
    """The input combinations that change what a module deploys: its defaults and, where it has
    a `sink`, the InfluxDB sink (with the module's own token secret or the caller's, and with the
    Timestream table kept)."""
    out = [Scenario(mod)]
    if "sink" in mod.variables:
        out.append(Scenario(mod, sink="influxdb"))
        if "create_timestream" in mod.variables:
            out.append(Scenario(mod, sink="influxdb", create_timestream=True))
        if "influxdb_token_secret_arn" in mod.variables:
            out.append(Scenario(mod, sink="influxdb", influxdb_token_secret_arn=SAMPLE_SECRET_ARN))
    return out


def _sink(sc: Scenario) -> str:
    """The sink of a scenario ("timestream" for modules without one)."""
    if "sink" not in sc.mod.variables:
        return "timestream"
    v = sc.var("sink")
    return v if isinstance(v, str) else "?"


def _recorders(mod: Module) -> list[str]:
    """The functions event source mappings feed (the recorder)."""
    return [f for esm in mod.of_type("aws_lambda_event_source_mapping").values() if (f := _mapping_wiring(mod, esm)[1])]


def _role_documents(mod: Module, function: str) -> list[tuple[str, dict]]:
    """The policy documents of the inline policies of a function's role."""
    fn = mod.resource("aws_lambda_function", function) or {}
    r = single_ref(fn.get("role"))
    if not r or r[0] != "aws_iam_role":
        return []
    docs = []
    for p in mod.of_type("aws_iam_role_policy").values():
        pr = single_ref(p.get("role"))
        if pr and pr[0] == "aws_iam_role" and pr[1] == r[1]:
            found = mod.policy_document(p.get("policy"))
            if found:
                docs.append(found)
    return docs


def _environment(sc: Scenario, fn: dict) -> dict | None:
    """A function's environment variables in a scenario (None when they cannot be evaluated)."""
    try:
        env = sc.value(first(fn, "environment").get("variables") or {})
    except Undecidable:
        return None
    return env if isinstance(env, dict) else None


def _effect(st: dict) -> str:
    return st.get("effect", "Allow")


def _principals(st: dict) -> list[tuple[str, Any]]:
    return [(p.get("type"), p.get("identifiers")) for p in blocks(st, "principals")]


def _conditions(st: dict) -> list[tuple[str, str, Any]]:
    return [(c.get("test"), c.get("variable"), c.get("values")) for c in blocks(st, "condition")]


def _num(mod: Module, value: Any) -> float | None:
    """A number: a literal, or a variable's default."""
    value = mod.resolve(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, Expr):
        m = re.fullmatch(r"var\.([A-Za-z0-9_]+)", value.text)
        if m:
            d = mod.var_default(m.group(1))
            if isinstance(d, (int, float)) and not isinstance(d, bool):
                return d
    return None


def _var_name(value: Any) -> str | None:
    if isinstance(value, Expr):
        m = re.fullmatch(r"var\.([A-Za-z0-9_]+)", value.text)
        if m:
            return m.group(1)
    return None


def _lower_bound_enforced(mod: Module, value: Any, minimum: float) -> bool:
    """A literal >= minimum, or a variable whose default and validation both keep it >= minimum."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value >= minimum
    name = _var_name(value)
    if name is None:
        return False
    default = mod.var_default(name)
    if not (isinstance(default, (int, float)) and default >= minimum):
        return False
    pattern = re.compile(rf"var\.{name}\s*>=\s*([0-9.]+)")
    return any(float(m) >= minimum for c in mod.var_validations(name) for m in pattern.findall(c))


# ---------------------------------------------------------------------------------------------
# Files, versions, packaging
# ---------------------------------------------------------------------------------------------


@invariant
def check_every_file_parses(infra: Infra) -> list[str]:
    problems = list(infra.parse_errors)
    if not infra.modules:
        problems.append("no .tf files found under infra/")
    return problems


@invariant
def check_versions_pinned(infra: Infra) -> list[str]:
    """Every module and example pins Terraform >= 1.6 < 2 and hashicorp/aws to one major."""
    problems = []
    for mod in infra.modules.values():
        if not mod.terraform:
            problems.append(f"{mod.rel}: no terraform {{}} block (put it in versions.tf)")
            continue
        tf = mod.terraform[0]
        rv = tf.get("required_version", "")
        if not (isinstance(rv, str) and re.search(r">=\s*1\.(?:[6-9]|\d\d)", rv) and re.search(r"<\s*2", rv)):
            problems.append(f"{mod.rel}: required_version {rv!r} must be '>= 1.6..., < 2.0.0'")
        aws = first(tf, "required_providers").get("aws", {})
        if aws.get("source") != "hashicorp/aws":
            problems.append(f"{mod.rel}: required_providers.aws.source must be hashicorp/aws")
        if not re.fullmatch(r"~>\s*[56]\.\d+", str(aws.get("version", ""))):
            problems.append(f"{mod.rel}: aws provider version {aws.get('version')!r} must be pinned as '~> 5.x' or '~> 6.x'")
    return problems


@invariant
def check_lambda_packaging(infra: Infra) -> list[str]:
    """provided.al2023, bootstrap, arm64 by default, the zip from a variable with its hash, JSON
    logs into a log group of the module with a retention variable."""
    problems = []
    for mod, name, fn in infra.all_resources("aws_lambda_function"):
        where = _where(mod, "aws_lambda_function", name)
        if fn.get("runtime") != "provided.al2023":
            problems.append(f"{where}: runtime must be provided.al2023")
        if fn.get("handler") != "bootstrap":
            problems.append(f"{where}: handler must be bootstrap")
        arch = as_list(fn.get("architectures"))
        arch_var = _var_name(arch[0]) if len(arch) == 1 else None
        if not (arch == ["arm64"] or (arch_var and mod.var_default(arch_var) == "arm64")):
            problems.append(f"{where}: architectures must be arm64 (or a variable defaulting to arm64)")
        zip_var = _var_name(fn.get("filename"))
        if not (zip_var and zip_var.endswith("_zip_path")):
            problems.append(f"{where}: filename must be a *_zip_path variable (infra consumes the cargo-lambda zip)")
        elif text_of(fn.get("source_code_hash")) != f"filebase64sha256(var.{zip_var})":
            problems.append(f"{where}: source_code_hash must be filebase64sha256(var.{zip_var})")
        logging = first(fn, "logging_config")
        if logging.get("log_format") != "JSON":
            problems.append(f"{where}: logging_config.log_format must be JSON")
        group = single_ref(logging.get("log_group"))
        if not (group and group[0] == "aws_cloudwatch_log_group" and mod.resource(*group[:2]) is not None):
            problems.append(f"{where}: logging_config.log_group must be a log group of this module")
        else:
            lg = mod.resource(*group[:2])
            if not str(lg.get("name", "")).startswith("/aws/lambda/"):
                problems.append(f"{where}: its log group must be named /aws/lambda/<function>")
            if _var_name(lg.get("retention_in_days")) is None:
                problems.append(f"{where}: its log group's retention_in_days must be a variable")
    return problems


# What each binary reads from its environment (crates/*/src/config.rs); the bus and source
# variables are the publisher's, RUST_LOG is lambda_runtime's log filter. The recorder's depend on its sink (FILETRAIL_SINK, default
# timestream; crates/filetrail-influxdb/src/config.rs for the InfluxDB ones: the v2 write API,
# and the token's secret, never the token).
RECORDER_ENVIRONMENT = {
    "timestream": {
        "FILETRAIL_TIMESTREAM_DATABASE",
        "FILETRAIL_TIMESTREAM_TABLE",
        "FILETRAIL_RECORD_LAYOUT",
        "FILETRAIL_DEAD_LETTER_QUEUE_URL",
        "RUST_LOG",
    },
    "influxdb": {
        "FILETRAIL_SINK",
        "FILETRAIL_INFLUXDB_URL",
        "FILETRAIL_INFLUXDB_ORG",
        "FILETRAIL_INFLUXDB_BUCKET",
        "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN",
        "FILETRAIL_INFLUXDB_MEASUREMENT",
        "FILETRAIL_DEAD_LETTER_QUEUE_URL",
        "RUST_LOG",
    },
}

# The auditor (crates/filetrail-auditor): the stages' naming variables, the audit's two windows
# (crates/filetrail-audit/src/config.rs) and the trail's variables, read by the recorder's own
# reader (so the dead-letter queue, which it never uses, is absent); FILETRAIL_AUDIT_INVENTORY
# only when inventory manifests are given (check_auditor_grants_exactly evaluates that case).
AUDITOR_COMMON_ENVIRONMENT = {
    "FILETRAIL_MISSION",
    "FILETRAIL_INSTRUMENTS",
    "FILETRAIL_BUCKET_PREFIX",
    "FILETRAIL_INCOMING_BUCKET",
    "FILETRAIL_AUDIT_OLDER_THAN",
    "FILETRAIL_AUDIT_SINCE",
    "RUST_LOG",
}
AUDITOR_ENVIRONMENT = {
    "timestream": AUDITOR_COMMON_ENVIRONMENT | {"FILETRAIL_TIMESTREAM_DATABASE", "FILETRAIL_TIMESTREAM_TABLE", "FILETRAIL_RECORD_LAYOUT"},
    "influxdb": AUDITOR_COMMON_ENVIRONMENT
    | {
        "FILETRAIL_SINK",
        "FILETRAIL_INFLUXDB_URL",
        "FILETRAIL_INFLUXDB_ORG",
        "FILETRAIL_INFLUXDB_BUCKET",
        "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN",
        "FILETRAIL_INFLUXDB_MEASUREMENT",
    },
}

FUNCTION_ENVIRONMENT: dict[str, Any] = {
    "recorder": RECORDER_ENVIRONMENT,
    "auditor": AUDITOR_ENVIRONMENT,
    "sorter": {
        "FILETRAIL_EVENT_BUS",
        "FILETRAIL_EVENT_SOURCE",
        "FILETRAIL_INCOMING_BUCKET",
        "FILETRAIL_MISSION",
        "FILETRAIL_INSTRUMENTS",
        "FILETRAIL_BUCKET_PREFIX",
        "RUST_LOG",
    },
    "processor": {
        "FILETRAIL_EVENT_BUS",
        "FILETRAIL_EVENT_SOURCE",
        "FILETRAIL_PROCESS_COMMAND",
        "FILETRAIL_MISSION",
        "FILETRAIL_INSTRUMENTS",
        "RUST_LOG",
    },
}


@invariant
def check_function_environment(infra: Infra) -> list[str]:
    """Each function gets exactly the variables its binary reads (the recorder: those of its
    sink, in every scenario, with FILETRAIL_SINK naming the sink when it is not the default),
    and the recorder dead-letters into the same queue the events queue redrives to."""
    problems = []
    for mod, name, fn in infra.all_resources("aws_lambda_function"):
        where = _where(mod, "aws_lambda_function", name)
        expected_by_sink = FUNCTION_ENVIRONMENT.get(name)
        if expected_by_sink is None:
            problems.append(f"{where}: unknown function; add its environment to FUNCTION_ENVIRONMENT")
            continue
        for sc in _scenarios(mod):
            env = _environment(sc, fn)
            sink = _sink(sc)
            expected = expected_by_sink.get(sink) if isinstance(expected_by_sink, dict) else expected_by_sink
            if env is None:
                problems.append(f"{where}: cannot evaluate the environment with {sc}")
            elif expected is None:
                problems.append(f"{where}: no expected environment for sink {sink!r}")
            elif set(env) != expected:
                problems.append(f"{where}: environment with {sc} is {sorted(env)}, not {sorted(expected)}")
            elif "FILETRAIL_SINK" in env and env["FILETRAIL_SINK"] != sink:
                problems.append(f"{where}: FILETRAIL_SINK is {text_of(env['FILETRAIL_SINK'])!r} with {sc}, not the literal {sink!r}")
    for mod, name, esm in infra.all_resources("aws_lambda_event_source_mapping"):
        queue, func = _mapping_wiring(mod, esm)
        q = mod.resource("aws_sqs_queue", queue or "") or {}
        f = mod.resource("aws_lambda_function", func or "") or {}
        m = re.search(r"deadLetterTargetArn\s*=\s*aws_sqs_queue\.([A-Za-z0-9_]+)\.arn", text_of(q.get("redrive_policy")))
        for sc in _scenarios(mod):
            url = single_ref((_environment(sc, f) or {}).get("FILETRAIL_DEAD_LETTER_QUEUE_URL"))
            if not (m and url and url[0] == "aws_sqs_queue" and url[1] == m.group(1) and url[2] in {"url", "id"}):
                problems.append(f"{mod.rel}: the recorder's FILETRAIL_DEAD_LETTER_QUEUE_URL must be the events queue's redrive target (with {sc})")
    return problems


@invariant
def check_infra_never_builds_rust(infra: Infra) -> list[str]:
    """No provisioner, build resource or archive step: infra/ consumes the cargo-lambda zips."""
    problems = []
    for mod in infra.modules.values():
        for (rtype, name), body in mod.resources.items():
            if rtype in {"null_resource", "terraform_data"} or blocks(body, "provisioner"):
                problems.append(f"{_where(mod, rtype, name)}: builds or runs something; infra/ only consumes the zips")
        for dtype, name in mod.data:
            if dtype in {"archive_file", "external"}:
                problems.append(f"{mod.rel}: data.{dtype}.{name}: infra/ must not package code itself")
        for fname, text in mod.texts.items():
            if re.search(r"cargo\s+(?:lambda\s+)?build|local-exec", text):
                problems.append(f"{mod.rel}/{fname}: mentions cargo or local-exec; building is `make package`'s job")
    # Examples point the zip variables at what cargo-lambda writes.
    for mod in infra.modules.values():
        for call_name, call in mod.calls.items():
            for key, value in call.items():
                if key.endswith("_zip_path"):
                    target = mod.resolve(value)
                    resolved = text_of(target)
                    m = re.fullmatch(r"local\.zip\.([a-z]+)", text_of(value))
                    if m and isinstance(mod.locals.get("zip"), dict):
                        resolved = text_of(mod.locals["zip"].get(m.group(1)))
                    if not re.search(r"filetrail-[a-z]+/bootstrap\.zip$", resolved):
                        problems.append(f"{mod.rel}: module.{call_name}.{key} = {resolved!r} is not a cargo-lambda bootstrap.zip")
    return problems


# ---------------------------------------------------------------------------------------------
# EventBridge
# ---------------------------------------------------------------------------------------------


# The one pattern every FileMoved rule routes; the Rust test kit and the demo read the same file.
FILE_MOVED_PATTERN_FILE = "file-moved-pattern.json"
FILE_MOVED_PATTERN = {"detail-type": ["FileMoved"]}


@invariant
def check_rule_matches_file_moved(infra: Infra) -> list[str]:
    """Every rule with an event pattern routes every FileMoved event whatever its source, and
    every bus archive keeps exactly those events: both read their pattern from
    file-moved-pattern.json, and that file matches detail-type FileMoved and nothing else
    (PutEvents accepts an event no rule matches and drops it; who may publish is the bus
    policy's business). An archive without a pattern would keep every event on the bus, one with
    another pattern would keep events no rule routed or miss some the recorder needs replayed."""
    problems = []
    rules = list(infra.all_resources("aws_cloudwatch_event_rule"))
    archives = list(infra.all_resources("aws_cloudwatch_event_archive"))
    readers = [(mod, "aws_cloudwatch_event_rule", name, body) for mod, name, body in rules if "event_pattern" in body]
    for mod, name, archive in archives:
        where = _where(mod, "aws_cloudwatch_event_archive", name)
        if "event_pattern" not in archive:
            problems.append(f"{where}: no event_pattern, so it archives every event on the bus; read it from {FILE_MOVED_PATTERN_FILE}")
            continue
        readers.append((mod, "aws_cloudwatch_event_archive", name, archive))
    for mod, rtype, name, body in readers:
        where = _where(mod, rtype, name)
        pattern = text_of(mod.resolve(body["event_pattern"]))
        if not re.fullmatch(r'jsonencode\(jsondecode\(file\("\$\{path\.module\}/' + re.escape(FILE_MOVED_PATTERN_FILE) + r'"\)\)\)', pattern.strip()):
            problems.append(f"{where}: the event pattern must be read from {FILE_MOVED_PATTERN_FILE} (got {pattern})")
            continue
        path = mod.path / FILE_MOVED_PATTERN_FILE
        try:
            on_disk = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            problems.append(f"{mod.rel}/{FILE_MOVED_PATTERN_FILE}: {e}")
            continue
        if on_disk != FILE_MOVED_PATTERN:
            problems.append(f"{mod.rel}/{FILE_MOVED_PATTERN_FILE}: must be exactly {json.dumps(FILE_MOVED_PATTERN)} (every FileMoved, any source); got {json.dumps(on_disk)}")
    if not rules:
        problems.append("no aws_cloudwatch_event_rule at all")
    if not archives:
        problems.append("no aws_cloudwatch_event_archive at all")
    return list(dict.fromkeys(problems))  # a bad file is reported once, not per reader


@invariant
def check_target_has_dlq_and_retry_policy(infra: Infra) -> list[str]:
    """Every rule target has a retry policy (>= 1 attempt) and an SQS dead-letter queue of its own."""
    problems = []
    targets = list(infra.all_resources("aws_cloudwatch_event_target"))
    if not targets:
        problems.append("no aws_cloudwatch_event_target at all")
    for mod, name, target in targets:
        where = _where(mod, "aws_cloudwatch_event_target", name)
        retry = first(target, "retry_policy")
        if not retry:
            problems.append(f"{where}: no retry_policy")
        else:
            if not _lower_bound_enforced(mod, retry.get("maximum_retry_attempts"), 1):
                problems.append(f"{where}: retry_policy.maximum_retry_attempts must be >= 1 (literal or validated variable)")
            if retry.get("maximum_event_age_in_seconds") is None:
                problems.append(f"{where}: retry_policy.maximum_event_age_in_seconds must be set")
        dlq = single_ref(first(target, "dead_letter_config").get("arn"))
        if not (dlq and dlq[0] == "aws_sqs_queue" and dlq[2] == "arn" and mod.resource("aws_sqs_queue", dlq[1]) is not None):
            problems.append(f"{where}: dead_letter_config.arn must be an SQS queue of this module")
        elif single_ref(target.get("arn")) == dlq:
            problems.append(f"{where}: the dead-letter queue must not be the target itself")
    return problems


@invariant
def check_bus_policy_only_publishers(infra: Infra) -> list[str]:
    """Only the publisher roles may put events on the bus: a Deny of PutEvents to every
    principal outside var.publisher_role_arns (compared as aws:PrincipalArn strings) restricts
    it. An Allow names only publisher roles of other accounts (a local that filters out this
    account's): same-account roles need none, and an Allow naming roles created in the same apply
    fails it ("invalid principal"). The examples make the publishers the stage roles (plus
    operator roles from a variable)."""
    problems = []
    policies = list(infra.all_resources("aws_cloudwatch_event_bus_policy"))
    buses = list(infra.all_resources("aws_cloudwatch_event_bus"))
    bus_mods = {m.rel for m, _, _ in buses}
    if {m.rel for m, _, _ in policies} != bus_mods:
        problems.append(f"every module with a bus needs a bus policy (buses in {sorted(bus_mods)})")
    for mod, name, pol in policies:
        where = _where(mod, "aws_cloudwatch_event_bus_policy", name)
        found = mod.policy_document(pol.get("policy"))
        if not found:
            problems.append(f"{where}: policy must be an aws_iam_policy_document of this module")
            continue
        doc_name, doc = found
        dynamic_sources = " ".join(
            text_of(spec.get("for_each")) for dyn in blocks(doc, "dynamic") for kind, spec in dyn.items() if kind == "statement"
        )
        cross = text_of(mod.locals.get("cross_account_publisher_arns"))
        denied_others = False
        for st in _statements(doc):
            actions = as_list(st.get("actions"))
            principals = _principals(st)
            if _effect(st) == "Allow":
                if any(t == "*" or "*" in as_list(ids) for t, ids in principals):
                    problems.append(f"{where}: {doc_name} allows a '*' principal")
                if "events:PutEvents" in actions:
                    ids = [text_of(i) for t, i in principals if t == "AWS"]
                    named = ids == ["local.cross_account_publisher_arns"] or (
                        ids == ["statement.value"] and "local.cross_account_publisher_arns" in dynamic_sources
                    )
                    if not named or len(principals) != 1:
                        problems.append(
                            f"{where}: PutEvents may be allowed only to local.cross_account_publisher_arns (publishers of other accounts), not {principals}"
                        )
            elif _effect(st) == "Deny" and "events:PutEvents" in actions:
                for test, variable, values in _conditions(st):
                    if test == "StringNotEquals" and variable == "aws:PrincipalArn" and text_of(values) == "var.publisher_role_arns":
                        denied_others = True
        if not denied_others:
            problems.append(f"{where}: no Deny of PutEvents for principals outside var.publisher_role_arns")
        if cross and not (
            "var.publisher_role_arns" in cross and "!=" in cross and "data.aws_caller_identity.current.account_id" in cross
        ):
            problems.append(f"{mod.rel}: local.cross_account_publisher_arns must keep only publishers whose account is not this one")
        validations = " ".join(mod.var_validations("publisher_role_arns"))
        if ":role/" not in validations:
            problems.append(f"{mod.rel}: var.publisher_role_arns must be validated as IAM role ARNs")
    for mod in infra.modules.values():
        for call_name, call in mod.calls.items():
            if "publisher_role_arns" not in call:
                continue
            value = call["publisher_role_arns"]
            stage_refs = set()
            for r in refs(value):
                m = re.fullmatch(r"module\.([A-Za-z0-9_-]+)\.(sorter|processor)_role_arn", r)
                if m:
                    stage_refs.add(m.group(2))
                elif not r.startswith("var."):
                    problems.append(f"{mod.rel}: module.{call_name}.publisher_role_arns names {r}, which is not a stage role")
            if stage_refs != {"sorter", "processor"}:
                problems.append(f"{mod.rel}: module.{call_name}.publisher_role_arns must name both stage roles")
    return problems


# ---------------------------------------------------------------------------------------------
# SQS and the event source mapping
# ---------------------------------------------------------------------------------------------


def _mapping_wiring(mod: Module, esm: dict) -> tuple[str | None, str | None]:
    q = single_ref(esm.get("event_source_arn"))
    f = single_ref(esm.get("function_name"))
    queue = q[1] if q and q[0] == "aws_sqs_queue" else None
    func = f[1] if f and f[0] == "aws_lambda_function" else None
    return queue, func


@invariant
def check_mapping_reports_batch_item_failures(infra: Infra) -> list[str]:
    problems = []
    mappings = list(infra.all_resources("aws_lambda_event_source_mapping"))
    if not mappings:
        problems.append("no aws_lambda_event_source_mapping: the recorder is not fed by its queue")
    for mod, name, esm in mappings:
        where = _where(mod, "aws_lambda_event_source_mapping", name)
        if "ReportBatchItemFailures" not in as_list(esm.get("function_response_types")):
            problems.append(f"{where}: function_response_types must include ReportBatchItemFailures")
        if _var_name(esm.get("batch_size")) is None:
            problems.append(f"{where}: batch_size must be a variable")
        if _var_name(esm.get("maximum_batching_window_in_seconds")) is None:
            problems.append(f"{where}: maximum_batching_window_in_seconds must be a variable")
        if first(esm, "scaling_config").get("maximum_concurrency") is None:
            problems.append(f"{where}: scaling_config.maximum_concurrency must be set")
        queue, func = _mapping_wiring(mod, esm)
        if queue is None or mod.resource("aws_sqs_queue", queue) is None:
            problems.append(f"{where}: event_source_arn must be an SQS queue of this module")
        if func is None or mod.resource("aws_lambda_function", func) is None:
            problems.append(f"{where}: function_name must be a function of this module")
    return problems


@invariant
def check_visibility_timeout_covers_recorder(infra: Infra) -> list[str]:
    """The queue of every mapping has visibility timeout >= 6 x the function's timeout: enforced
    by a precondition for any input, and true of the defaults."""
    problems = []
    for mod, name, esm in infra.all_resources("aws_lambda_event_source_mapping"):
        queue, func = _mapping_wiring(mod, esm)
        q = mod.resource("aws_sqs_queue", queue or "")
        f = mod.resource("aws_lambda_function", func or "")
        if q is None or f is None:
            problems.append(f"{_where(mod, 'aws_lambda_event_source_mapping', name)}: cannot follow its queue and function")
            continue
        where = _where(mod, "aws_sqs_queue", queue)
        v = text_of(q.get("visibility_timeout_seconds"))
        t = text_of(f.get("timeout"))
        if not v or not t or v == "null":
            problems.append(f"{where}: visibility_timeout_seconds and the function's timeout must both be set")
            continue
        ok_pre = False
        for lc in blocks(q, "lifecycle"):
            for pre in blocks(lc, "precondition"):
                cond = text_of(pre.get("condition"))
                m = re.fullmatch(rf"{re.escape(v)}\s*>=\s*(\d+)\s*\*\s*{re.escape(t)}", cond) or re.fullmatch(
                    rf"{re.escape(v)}\s*>=\s*{re.escape(t)}\s*\*\s*(\d+)", cond
                )
                if m and int(m.group(1)) >= 6:
                    ok_pre = True
        if not ok_pre:
            problems.append(f"{where}: no precondition '{v} >= 6 * {t}' guards the visibility timeout")
        # The default value itself.
        resolved = mod.resolve(q.get("visibility_timeout_seconds"))
        t_default = _num(mod, f.get("timeout"))
        rtext = text_of(resolved)
        m = re.fullmatch(rf"coalesce\(var\.[A-Za-z0-9_]+,\s*(\d+)\s*\*\s*{re.escape(t)}\)", rtext) or re.fullmatch(
            rf"(\d+)\s*\*\s*{re.escape(t)}", rtext
        )
        if m:
            if int(m.group(1)) < 6:
                problems.append(f"{where}: default visibility timeout {rtext} is below 6 x {t}")
            cm = re.match(r"coalesce\(var\.([A-Za-z0-9_]+)", rtext)
            if cm and mod.var_default(cm.group(1)) is not None:
                override = _num(mod, Expr(f"var.{cm.group(1)}"))
                if t_default is not None and override is not None and override < 6 * t_default:
                    problems.append(f"{where}: default visibility timeout {override} < 6 x {t_default}")
        else:
            value = _num(mod, resolved)
            if value is None or t_default is None or value < 6 * t_default:
                problems.append(f"{where}: cannot show the default visibility timeout ({rtext}) is >= 6 x {t}")
    return problems


@invariant
def check_redrive_to_recorder_dlq(infra: Infra) -> list[str]:
    """The mapping's queue redrives to a DLQ after maxReceiveCount >= 5 receives."""
    problems = []
    for mod, name, esm in infra.all_resources("aws_lambda_event_source_mapping"):
        queue, _ = _mapping_wiring(mod, esm)
        q = mod.resource("aws_sqs_queue", queue or "")
        if q is None:
            continue
        where = _where(mod, "aws_sqs_queue", queue)
        redrive = text_of(q.get("redrive_policy"))
        target = re.search(r"deadLetterTargetArn\s*=\s*aws_sqs_queue\.([A-Za-z0-9_]+)\.arn", redrive)
        if not target or mod.resource("aws_sqs_queue", target.group(1)) is None:
            problems.append(f"{where}: redrive_policy must name a deadLetterTargetArn queue of this module")
        count = re.search(r"maxReceiveCount\s*=\s*([A-Za-z0-9_.]+)", redrive)
        if not count:
            problems.append(f"{where}: redrive_policy must set maxReceiveCount")
        else:
            raw = count.group(1)
            value: Any = int(raw) if raw.isdigit() else Expr(raw)
            if not _lower_bound_enforced(mod, value, 5):
                problems.append(f"{where}: maxReceiveCount {raw} must be >= 5 (literal, or a variable defaulting to and validated >= 5)")
    return problems


@invariant
def check_queues_encrypted(infra: Infra) -> list[str]:
    problems = []
    for mod, name, q in infra.all_resources("aws_sqs_queue"):
        if q.get("sqs_managed_sse_enabled") is not True and not q.get("kms_master_key_id"):
            problems.append(f"{_where(mod, 'aws_sqs_queue', name)}: must be encrypted (sqs_managed_sse_enabled = true or a KMS key)")
    return problems


def _bucket_notifications(mod: Module) -> dict[str, set[str]]:
    """Queue -> the buckets of the module whose aws_s3_bucket_notification sends to it."""
    found: dict[str, set[str]] = {}
    for n in mod.of_type("aws_s3_bucket_notification").values():
        b = single_ref(n.get("bucket"))
        for q in blocks(n, "queue"):
            r = single_ref(q.get("queue_arn"))
            if b and b[0] == "aws_s3_bucket" and r and r[0] == "aws_sqs_queue" and r[2] == "arn":
                found.setdefault(r[1], set()).add(b[1])
    return found


# Who may send to a queue of the module, and what aws:SourceArn must name for each:
# EventBridge for one of the module's rules (a rule target or a target DLQ), S3 for one of its
# buckets that notifies that very queue.
_QUEUE_SENDERS = {"events.amazonaws.com": "aws_cloudwatch_event_rule", "s3.amazonaws.com": "aws_s3_bucket"}
_SOURCE_LABEL = {"aws_cloudwatch_event_rule": "a rule", "aws_s3_bucket": "a bucket"}
_ACCOUNT = "data.aws_caller_identity.current.account_id"


def _queue_statement_problems(mod: Module, where: str, doc_name: str, st: dict, queue: str, notifiers: set[str]) -> tuple[list[str], set[tuple[str, str]]]:
    """What is wrong with one Allow of a queue policy, and the senders (kind, name) it admits."""
    problems = []
    principals = _principals(st)
    service = principals[0][1][0] if len(principals) == 1 and principals[0][0] == "Service" and len(as_list(principals[0][1])) == 1 else None
    source_type = _QUEUE_SENDERS.get(service)
    if source_type is None:
        problems.append(f"{where}: {doc_name} allows {principals}; only events.amazonaws.com (for a rule) or s3.amazonaws.com (for a bucket) may send")
    if as_list(st.get("actions")) != ["sqs:SendMessage"]:
        problems.append(f"{where}: {doc_name} allows {st.get('actions')}; only sqs:SendMessage")
    resources = [single_ref(r) for r in as_list(st.get("resources"))]
    if resources != [("aws_sqs_queue", queue, "arn")]:
        problems.append(f"{where}: {doc_name} statement {st.get('sid')} must name only its own queue's ARN, names {[text_of(r) for r in as_list(st.get('resources'))]}")
    sources: set[tuple[str, str]] = set()
    for test, variable, values in _conditions(st):
        if test in {"ArnEquals", "ArnLike"} and variable == "aws:SourceArn":
            for v in as_list(values):
                r = single_ref(v)
                if not (r and r[0] == source_type and r[2] == "arn" and mod.resource(r[0], r[1]) is not None):
                    problems.append(f"{where}: aws:SourceArn {text_of(v)} is not {_SOURCE_LABEL.get(source_type, 'a rule or bucket')} of this module, as {service or 'the sender'} needs")
                elif source_type == "aws_s3_bucket" and r[1] not in notifiers:
                    problems.append(f"{where}: bucket {r[1]} may send to queue {queue} but has no aws_s3_bucket_notification to it")
                else:
                    sources.add((source_type, r[1]))
    if not sources:
        problems.append(f"{where}: {doc_name} statement {st.get('sid')} has no aws:SourceArn condition naming {_SOURCE_LABEL.get(source_type, 'a rule or bucket')} of this module")
    if source_type == "aws_s3_bucket":
        accounts = [[text_of(v) for v in as_list(values)] for test, variable, values in _conditions(st) if test == "StringEquals" and variable == "aws:SourceAccount"]
        if accounts != [[_ACCOUNT]]:
            problems.append(f"{where}: {doc_name} statement {st.get('sid')} must limit S3 to this account (StringEquals aws:SourceAccount = {_ACCOUNT})")
    return problems, sources


@invariant
def check_queue_policies_only_rules_and_buckets(infra: Infra) -> list[str]:
    """Queue policies let only EventBridge on behalf of one of this module's rules, or S3 on
    behalf of one of this module's buckets that notifies that queue (and only from this account),
    send; only sqs:SendMessage, only on the queue itself. Every queue a rule delivers to (target
    or target DLQ) has such a policy naming that rule, every queue a bucket notifies one naming
    that bucket."""
    problems = []
    allowed_sources: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for mod, name, qp in infra.all_resources("aws_sqs_queue_policy"):
        where = _where(mod, "aws_sqs_queue_policy", name)
        q = single_ref(qp.get("queue_url"))
        found = mod.policy_document(qp.get("policy"))
        if not q or q[0] != "aws_sqs_queue" or not found:
            problems.append(f"{where}: must name a queue of this module and an aws_iam_policy_document")
            continue
        doc_name, doc = found
        notifiers = _bucket_notifications(mod).get(q[1], set())
        for st in _statements(doc):
            if _effect(st) != "Allow":
                continue
            found_problems, sources = _queue_statement_problems(mod, where, doc_name, st, q[1], notifiers)
            problems.extend(found_problems)
            allowed_sources.setdefault((mod.rel, q[1]), set()).update(sources)
    for mod, name, target in infra.all_resources("aws_cloudwatch_event_target"):
        rule = single_ref(target.get("rule"))
        rule_name = rule[1] if rule else ""
        for qref in (single_ref(target.get("arn")), single_ref(first(target, "dead_letter_config").get("arn"))):
            if qref and qref[0] == "aws_sqs_queue":
                if ("aws_cloudwatch_event_rule", rule_name) not in allowed_sources.get((mod.rel, qref[1]), set()):
                    problems.append(
                        f"{_where(mod, 'aws_cloudwatch_event_target', name)}: queue {qref[1]} has no policy letting rule {rule_name} send"
                    )
    for mod in infra.modules.values():
        for queue, buckets in _bucket_notifications(mod).items():
            for bucket in sorted(buckets):
                if ("aws_s3_bucket", bucket) not in allowed_sources.get((mod.rel, queue), set()):
                    problems.append(f"{mod.rel}: bucket {bucket} notifies queue {queue}, which has no policy letting that bucket send")
    return problems


# ---------------------------------------------------------------------------------------------
# Timestream
# ---------------------------------------------------------------------------------------------


@invariant
def check_magnetic_store_writes(infra: Infra) -> list[str]:
    problems = []
    tables = list(infra.all_resources("aws_timestreamwrite_table"))
    if not tables:
        problems.append("no aws_timestreamwrite_table")
    for mod, name, table in tables:
        where = _where(mod, "aws_timestreamwrite_table", name)
        msw = first(table, "magnetic_store_write_properties")
        if msw.get("enable_magnetic_store_writes") is not True:
            problems.append(f"{where}: magnetic_store_write_properties.enable_magnetic_store_writes must be true (late and replayed records)")
        s3 = first(first(msw, "magnetic_store_rejected_data_location"), "s3_configuration")
        bucket = single_ref(s3.get("bucket_name"))
        if not (bucket and bucket[0] == "aws_s3_bucket" and mod.resource("aws_s3_bucket", bucket[1]) is not None):
            problems.append(f"{where}: magnetic-store rejected data must go to an S3 bucket of this module")
        if not s3.get("encryption_option"):
            problems.append(f"{where}: the rejected-data location must set encryption_option")
        retention = first(table, "retention_properties")
        for key in ("memory_store_retention_period_in_hours", "magnetic_store_retention_period_in_days"):
            if _var_name(retention.get(key)) is None:
                problems.append(f"{where}: retention_properties.{key} must be a variable")
    return problems


def _depends_on(body: dict) -> set[str]:
    """`type.name` of every resource a body's depends_on names."""
    return {m for d in as_list(body.get("depends_on")) for m in re.findall(r"\b(aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)", text_of(d))}


@invariant
def check_magnetic_store_rejections_alarmed(infra: Infra) -> list[str]:
    """What the magnetic store rejects after WriteRecords accepted it is only an object in the
    table's rejected-data bucket, so every such bucket has one aws_s3_bucket_notification (S3
    keeps one configuration per bucket) sending every new report (s3:ObjectCreated:*, no
    filter narrower than the table's object_key_prefix) to an SQS queue of the module, after
    (depends_on) that queue's policy; the queue has an ApproximateNumberOfMessagesVisible > 0
    alarm whose description names the bucket. In every scenario the notification, queue, policy
    and alarm exist exactly when the table does."""
    problems = []
    for mod, name, table in infra.all_resources("aws_timestreamwrite_table"):
        where = _where(mod, "aws_timestreamwrite_table", name)
        s3 = first(first(first(table, "magnetic_store_write_properties"), "magnetic_store_rejected_data_location"), "s3_configuration")
        b = single_ref(s3.get("bucket_name"))
        if not (b and b[0] == "aws_s3_bucket" and mod.resource("aws_s3_bucket", b[1]) is not None):
            problems.append(f"{where}: its rejected data goes to no bucket of this module, so nothing can watch it")
            continue
        bucket = b[1]
        prefix = s3.get("object_key_prefix")
        notifications = {
            n: body
            for n, body in mod.of_type("aws_s3_bucket_notification").items()
            if (r := single_ref(body.get("bucket"))) and r[:2] == ("aws_s3_bucket", bucket)
        }
        if len(notifications) != 1:
            problems.append(f"{where}: the rejected-data bucket {bucket} needs exactly one aws_s3_bucket_notification, has {sorted(notifications)}")
            continue
        (nname, notification), = notifications.items()
        nwhere = _where(mod, "aws_s3_bucket_notification", nname)
        queues = []
        for q in blocks(notification, "queue"):
            r = single_ref(q.get("queue_arn"))
            if not (r and r[0] == "aws_sqs_queue" and r[2] == "arn" and mod.resource("aws_sqs_queue", r[1]) is not None):
                problems.append(f"{nwhere}: queue_arn {text_of(q.get('queue_arn'))} is not a queue of this module")
            elif "s3:ObjectCreated:*" not in as_list(q.get("events")):
                problems.append(f"{nwhere}: sends {as_list(q.get('events'))} to {r[1]}, not every new report (s3:ObjectCreated:*)")
            elif q.get("filter_suffix") is not None or q.get("filter_prefix") not in (None, prefix):
                problems.append(f"{nwhere}: filters what it sends to {r[1]} (prefix {q.get('filter_prefix')!r}, suffix {q.get('filter_suffix')!r}); reports go under {prefix!r} with any name")
            else:
                queues.append(r[1])
        if not queues:
            problems.append(f"{nwhere}: sends no new report of the rejected-data bucket {bucket} to an SQS queue of this module")
            continue
        policies = {n for n, qp in mod.of_type("aws_sqs_queue_policy").items() if (r := single_ref(qp.get("queue_url"))) and r[0] == "aws_sqs_queue" and r[1] in queues}
        if not {f"aws_sqs_queue_policy.{p}" for p in policies} & _depends_on(notification):
            problems.append(f"{nwhere}: must depend on its queue's policy (S3 tests the destination when the configuration is put), depends on {sorted(_depends_on(notification))}")
        alarms = {
            n: a
            for n, a in mod.of_type("aws_cloudwatch_metric_alarm").items()
            if a.get("namespace") == "AWS/SQS"
            and a.get("metric_name") == "ApproximateNumberOfMessagesVisible"
            and (d := single_ref((a.get("dimensions") or {}).get("QueueName")))
            and d[:2] in {("aws_sqs_queue", q) for q in queues}
        }
        if not alarms:
            problems.append(f"{where}: no ApproximateNumberOfMessagesVisible alarm on {sorted(queues)}, where its rejection reports go")
        for aname, a in alarms.items():
            awhere = _where(mod, "aws_cloudwatch_metric_alarm", aname)
            if a.get("threshold") != 0 or a.get("comparison_operator") != "GreaterThanThreshold":
                problems.append(f"{awhere}: must alarm on one message (> 0): each is a rejected report")
            if f"aws_s3_bucket.{bucket}" not in refs(a.get("alarm_description")):
                problems.append(f"{awhere}: its description must name the rejected-data bucket the operator reads the reports from")
        watchers = [("aws_s3_bucket", bucket), ("aws_s3_bucket_notification", nname)]
        watchers += [("aws_sqs_queue", q) for q in queues] + [("aws_sqs_queue_policy", p) for p in sorted(policies)]
        watchers += [("aws_cloudwatch_metric_alarm", a) for a in sorted(alarms)]
        for sc in _scenarios(mod):
            table_n = sc.instances(table)
            for rtype, rname in watchers:
                n = sc.instances(mod.resource(rtype, rname) or {})
                if n is None or table_n is None or (n == 0) != (table_n == 0):
                    problems.append(f"{_where(mod, rtype, rname)}: has {n} instances with {sc}, the table {table_n}; it must exist exactly when the table does")
    return problems


# ---------------------------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------------------------


def _inline_json_policies(infra: Infra):
    """Policies written as jsonencode(...) instead of policy documents (none should exist)."""
    for mod in infra.modules.values():
        for (rtype, name), body in mod.resources.items():
            for key in ("policy", "assume_role_policy", "inline_policy"):
                value = body.get(key)
                if isinstance(value, Expr) and value.text.startswith("jsonencode("):
                    yield mod, rtype, name, value.text


@invariant
def check_no_wildcard_actions(infra: Infra) -> list[str]:
    problems = []
    for mod, name, doc in infra.policy_documents():
        for st in _statements(doc):
            if st.get("not_actions"):
                problems.append(f"{mod.rel}: policy document {name} uses not_actions")
            for action in as_list(st.get("actions")):
                if "*" in text_of(action):
                    problems.append(f"{mod.rel}: policy document {name} grants wildcard action {text_of(action)!r}")
    for mod, rtype, name, text in _inline_json_policies(infra):
        if re.search(r'"?Action"?\s*[=:]\s*\[?[^\]]*\*', text):
            problems.append(f"{_where(mod, rtype, name)}: inline policy grants a wildcard action")
    return problems


def _is_wildcard_resource(value: Any) -> bool:
    text = text_of(value)
    if text == "*":
        return True
    # A literal ARN with a wildcard (not anchored on a resource of the configuration).
    return isinstance(value, str) and "${" not in value and "*" in value


# The only actions ever granted on "*", each set alone in its statement, because AWS supports no
# resource-level permission for them and the function cannot work without them:
# - Timestream endpoint discovery;
# - the two Describe calls Lambda makes with a VPC function's role to attach it to the VPC
#   (AWS: DescribeNetworkInterfaces "only works if it's allowed on all resources"), allowed only
#   in scenarios where that function has a vpc_config. Creating, deleting and re-addressing
#   network interfaces are never on "*" (they take interface, subnet and security group ARNs).
STAR_ACTIONS = {
    "endpoint discovery": frozenset({"timestream:DescribeEndpoints"}),
    "VPC attachment": frozenset({"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}),
}


def _functions_using(mod: Module, doc_name: str) -> list[str]:
    return [f for f in mod.of_type("aws_lambda_function") if any(n == doc_name for n, _ in _role_documents(mod, f))]


@invariant
def check_no_wildcard_resources(infra: Infra) -> list[str]:
    """No '*' resource, except for the STAR_ACTIONS sets, each alone in its statement; the VPC
    one only where the function has a vpc_config."""
    problems = []
    for mod, name, doc in infra.policy_documents():
        for st in _statements(doc):
            if st.get("not_resources"):
                problems.append(f"{mod.rel}: policy document {name} uses not_resources")
            if _effect(st) != "Allow":
                continue
            wild = [text_of(r) for r in as_list(st.get("resources")) if _is_wildcard_resource(r)]
            if not wild:
                continue
            actions = {text_of(a) for a in as_list(st.get("actions"))}
            reason = next((why for why, allowed in STAR_ACTIONS.items() if actions and actions <= allowed), None)
            if reason is None:
                problems.append(
                    f"{mod.rel}: policy document {name} statement {st.get('sid')} grants {sorted(actions)} on {wild}; "
                    f"only {' or '.join(str(sorted(a)) for a in STAR_ACTIONS.values())} (alone in their statement) may use '*'"
                )
            elif reason == "VPC attachment":
                functions = _functions_using(mod, name)
                if not functions:
                    problems.append(f"{mod.rel}: policy document {name} grants {sorted(actions)} on '*' but no function uses it")
                for sc in _scenarios(mod):
                    if not any(st is x for x in sc.blocks(doc, "statement")):
                        continue
                    for f in functions:
                        if not sc.blocks(mod.resource("aws_lambda_function", f), "vpc_config"):
                            problems.append(
                                f"{mod.rel}: policy document {name} statement {st.get('sid')} grants {sorted(actions)} on '*' "
                                f"with {sc}, where function {f} has no vpc_config"
                            )
    for mod, rtype, name, text in _inline_json_policies(infra):
        if re.search(r'"?Resource"?\s*[=:]\s*\[?\s*"\*"', text):
            problems.append(f"{_where(mod, rtype, name)}: inline policy grants a '*' resource")
    return problems


@invariant
def check_one_role_per_function(infra: Infra) -> list[str]:
    """Each function has its own role, trusted by Lambda only, with exactly one inline policy
    and no managed policy attached."""
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for mod in infra.modules.values():
        for rtype in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_role_policies_exclusive"):
            for name in mod.of_type(rtype):
                problems.append(f"{_where(mod, rtype, name)}: attach no managed policy; write the least-privilege inline policy")
        for name, role in mod.of_type("aws_iam_role").items():
            if role.get("managed_policy_arns") or blocks(role, "inline_policy"):
                problems.append(f"{_where(mod, 'aws_iam_role', name)}: no managed_policy_arns or inline_policy blocks")
    for mod, name, fn in infra.all_resources("aws_lambda_function"):
        where = _where(mod, "aws_lambda_function", name)
        r = single_ref(fn.get("role"))
        if not (r and r[0] == "aws_iam_role" and r[2] == "arn" and mod.resource("aws_iam_role", r[1]) is not None):
            problems.append(f"{where}: role must be an aws_iam_role of this module")
            continue
        key = (mod.rel, r[1])
        if key in seen:
            problems.append(f"{where}: shares role {r[1]} with {seen[key]}; one role per function")
        seen[key] = where
        role = mod.resource("aws_iam_role", r[1])
        trust = mod.policy_document(role.get("assume_role_policy"))
        if not trust:
            problems.append(f"{where}: role {r[1]} needs an aws_iam_policy_document trust policy")
        else:
            for st in _statements(trust[1]):
                if as_list(st.get("actions")) != ["sts:AssumeRole"] or _principals(st) != [("Service", ["lambda.amazonaws.com"])]:
                    problems.append(f"{where}: role {r[1]} must be assumable by lambda.amazonaws.com only")
        policies = [
            n
            for n, p in mod.of_type("aws_iam_role_policy").items()
            if (pr := single_ref(p.get("role"))) and pr[0] == "aws_iam_role" and pr[1] == r[1]
        ]
        if len(policies) != 1:
            problems.append(f"{where}: role {r[1]} must have exactly one inline policy, has {policies}")
    return problems


# The S3 actions the sorter's calls need, per kind of resource (crates/filetrail-stages/src/store.rs):
# HeadObject and the copy's source read (s3:GetObject), the source's tags (CopyObject's default
# tagging directive COPY and, on the multipart path, GetObjectTagging, both on the current
# version, so no s3:GetObjectVersionTagging), the conditional delete; the listing of the sweep;
# CopyObject or the multipart calls (s3:PutObject) writing the tags (s3:PutObjectTagging: S3
# refuses a tagged copy with 403 without it), the abort of a failed multipart copy, the heads
# that verify a copy; ListBucket so that a missing key is a 404, not a 403.
SORTER_S3_ACTIONS = {
    "incoming objects": {"s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"},
    "incoming bucket": {"s3:ListBucket"},
    "instrument objects": {"s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"},
    "instrument buckets": {"s3:ListBucket"},
}


def _s3_resource_kind(resource: Any) -> str:
    """Which of the sorter's kinds of S3 resource an ARN expression names."""
    t = text_of(resource)
    if "incoming_bucket_arn" in t:
        return "incoming objects" if t.endswith("/*") else "incoming bucket"
    if "instrument_object_arns" in t:
        return "instrument objects"
    if "instrument_bucket_arns" in t:
        return "instrument buckets"
    return f"other ({t})"


@invariant
def check_sorter_s3_grants(infra: Infra) -> list[str]:
    """The sorter (the function that reads FILETRAIL_INCOMING_BUCKET and publishes to
    FILETRAIL_EVENT_BUS) is granted exactly the S3 actions its calls need on each kind of
    resource (SORTER_S3_ACTIONS): tagged files copy with their tags, and nothing more is
    allowed."""
    problems = []
    sorters = 0
    for mod, name, fn in infra.all_resources("aws_lambda_function"):
        env = _environment(Scenario(mod), fn) or {}
        if "FILETRAIL_INCOMING_BUCKET" not in env or "FILETRAIL_EVENT_BUS" not in env:
            continue
        sorters += 1
        granted: dict[str, set[str]] = {}
        for _, doc in _role_documents(mod, name):
            for st in _statements(doc):
                actions = {a for a in as_list(st.get("actions")) if isinstance(a, str) and a.startswith("s3:")}
                if not actions or _effect(st) != "Allow":
                    continue
                for r in as_list(st.get("resources")):
                    granted.setdefault(_s3_resource_kind(r), set()).update(actions)
        where = _where(mod, "aws_lambda_function", name)
        for kind in sorted(set(granted) | set(SORTER_S3_ACTIONS)):
            want, got = SORTER_S3_ACTIONS.get(kind, set()), granted.get(kind, set())
            if got - want:
                problems.append(f"{where}: grants {sorted(got - want)} on {kind}, which its calls do not need")
            if want - got:
                problems.append(f"{where}: lacks {sorted(want - got)} on {kind} (its S3 calls are refused with 403 without them)")
    if sorters == 0:
        problems.append("no sorter function (one with FILETRAIL_INCOMING_BUCKET and FILETRAIL_EVENT_BUS) found")
    return problems


# ---------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------


def _dead_letter_queues(mod: Module) -> set[str]:
    dlqs: set[str] = set()
    for q in mod.of_type("aws_sqs_queue").values():
        m = re.search(r"deadLetterTargetArn\s*=\s*aws_sqs_queue\.([A-Za-z0-9_]+)\.arn", text_of(q.get("redrive_policy")))
        if m:
            dlqs.add(m.group(1))
    for t in mod.of_type("aws_cloudwatch_event_target").values():
        r = single_ref(first(t, "dead_letter_config").get("arn"))
        if r and r[0] == "aws_sqs_queue":
            dlqs.add(r[1])
    for f in mod.of_type("aws_lambda_function").values():
        r = single_ref(first(f, "dead_letter_config").get("target_arn"))
        if r and r[0] == "aws_sqs_queue":
            dlqs.add(r[1])
    for name, q in mod.of_type("aws_sqs_queue").items():
        if re.search(r"dlq|dead", name) or "dlq" in text_of(q.get("name")):
            dlqs.add(name)
    return dlqs


def _alarms_on(mod: Module, namespace: str, metric: str, dimension: str) -> set[str]:
    """Names of the resources (queues, functions) that have an alarm on metric."""
    found = set()
    for a in mod.of_type("aws_cloudwatch_metric_alarm").values():
        if a.get("namespace") == namespace and a.get("metric_name") == metric:
            r = single_ref((a.get("dimensions") or {}).get(dimension))
            if r:
                found.add(r[1])
    return found


# Namespaces whose metrics AWS publishes, with dimensions the other checks tie to resources.
AWS_NAMESPACES = {"AWS/SQS", "AWS/Lambda"}


@invariant
def check_alarms_query_emitted_metrics(infra: Infra) -> list[str]:
    """Every alarm reads a metric that exists: an AWS namespace, or one the code emits
    (infra/emf-metrics.json): its namespace, exactly its dimension names, a metric the
    function emits, and, under every sample name prefix, the dimension value the code emits,
    which is the function's Terraform function_name. The manifest names exactly the functions
    Terraform deploys."""
    problems = []
    try:
        manifest = emitted.load(infra.root)
    except (OSError, ValueError) as e:
        return [f"infra/{emitted.MANIFEST}: cannot be read: {e}"]
    functions = manifest.get("functions", {})
    deployed = set(emitted.function_modules(infra))
    if set(functions) != deployed:
        problems.append(f"infra/{emitted.MANIFEST} names {sorted(functions)}, Terraform deploys {sorted(deployed)}")
    for mod, name, a in infra.all_resources("aws_cloudwatch_metric_alarm"):
        where = _where(mod, "aws_cloudwatch_metric_alarm", name)
        ns = a.get("namespace")
        if ns in AWS_NAMESPACES:
            continue
        if ns != manifest.get("namespace"):
            problems.append(f"{where}: namespace {ns!r} is neither AWS's nor the one the code emits ({manifest.get('namespace')!r})")
            continue
        dims = a.get("dimensions") or {}
        if sorted(dims) != sorted(manifest.get("dimensions", [])):
            problems.append(f"{where}: dimensions {sorted(dims)} are not the emitted {manifest.get('dimensions')}")
            continue
        for dim, value in dims.items():
            r = single_ref(value)
            if not (r and r[0] == "aws_lambda_function" and r[2] == "function_name" and r[1] in functions):
                problems.append(f"{where}: dimension {dim} must be the function_name of a function that emits it, not {text_of(value)}")
                continue
            function = r[1]
            metric = a.get("metric_name")
            if metric not in functions[function].get("metrics", []):
                problems.append(f"{where}: {function} emits no metric {metric!r} (it emits {functions[function].get('metrics')})")
            for prefix in emitted.SAMPLE_NAME_PREFIXES:
                queried = emitted.deployed_name(infra, function, prefix)
                sent = emitted.emitted_dimension(manifest, function, queried)
                if queried is None or sent != queried:
                    problems.append(
                        f"{where}: with name_prefix {prefix!r} it queries {dim}={queried!r}, but the {function} emits {dim}={sent!r}"
                    )
    return problems


_TRACING_LEVEL = {"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "WARN": "warn", "ERROR": "error", "FATAL": "error"}


@invariant
def check_metrics_survive_every_log_level(infra: Infra) -> list[str]:
    """For every log_level the module accepts, Lambda's application log level is at most INFO
    (the EMF lines carry no level, so Lambda counts them INFO and drops them at WARN and above),
    and the function's RUST_LOG filters its own logs at the level asked for."""
    problems = []
    for mod, name, fn in infra.all_resources("aws_lambda_function"):
        where = _where(mod, "aws_lambda_function", name)
        accepted = [lvl for c in mod.var_validations("log_level") for lvl in re.findall(r'"([A-Z]+)"', c)]
        if not accepted:
            problems.append(f"{where}: its module must validate var.log_level against the levels Lambda accepts")
            continue
        for level in accepted:
            sc = Scenario(mod, log_level=level)
            try:
                lambda_level = sc.value(first(fn, "logging_config").get("application_log_level"))
            except Undecidable as e:
                problems.append(f"{where}: cannot evaluate application_log_level with log_level {level}: {e}")
                continue
            if lambda_level not in {"TRACE", "DEBUG", "INFO"}:
                problems.append(f"{where}: with log_level {level} Lambda filters at {lambda_level!r} and drops the level-less EMF metric lines")
            elif level in {"TRACE", "DEBUG"} and lambda_level != level:
                problems.append(f"{where}: with log_level {level} Lambda filters at {lambda_level!r} and drops the {level} logs asked for")
            env = _environment(sc, fn) or {}
            try:
                rust_log = sc.value(env.get("RUST_LOG"))
            except Undecidable:
                rust_log = None
            if rust_log != _TRACING_LEVEL.get(level):
                problems.append(f"{where}: with log_level {level} RUST_LOG is {text_of(rust_log)}, not {_TRACING_LEVEL.get(level)!r}")
    return problems


@invariant
def check_alarms_cover_dlqs_age_and_errors(infra: Infra) -> list[str]:
    problems = []
    for mod in infra.modules.values():
        dlqs = _dead_letter_queues(mod)
        covered = _alarms_on(mod, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
        for q in sorted(dlqs - covered):
            problems.append(f"{mod.rel}: DLQ aws_sqs_queue.{q} has no ApproximateNumberOfMessagesVisible alarm")
        aged = _alarms_on(mod, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName")
        errors = _alarms_on(mod, "AWS/Lambda", "Errors", "FunctionName")
        for name, esm in mod.of_type("aws_lambda_event_source_mapping").items():
            queue, func = _mapping_wiring(mod, esm)
            if queue and queue not in aged:
                problems.append(f"{mod.rel}: queue aws_sqs_queue.{queue} has no ApproximateAgeOfOldestMessage alarm")
            if func and func not in errors:
                problems.append(f"{mod.rel}: recorder aws_lambda_function.{func} has no AWS/Lambda Errors alarm")
        for name, a in mod.of_type("aws_cloudwatch_metric_alarm").items():
            where = _where(mod, "aws_cloudwatch_metric_alarm", name)
            for key in ("alarm_actions", "ok_actions"):
                if [text_of(x) for x in as_list(a.get(key))] != ["var.alarm_topic_arn"]:
                    problems.append(f"{where}: {key} must be [var.alarm_topic_arn]")
            if a.get("actions_enabled") is False:
                problems.append(f"{where}: actions_enabled must not be false")
        if mod.of_type("aws_cloudwatch_metric_alarm") and "alarm_topic_arn" not in mod.variables:
            problems.append(f"{mod.rel}: alarms need a var.alarm_topic_arn")
    # Callers wire an SNS topic into every module that has alarms.
    for mod in infra.modules.values():
        for call_name, call in mod.calls.items():
            callee = infra.module_called_by(mod, call)
            if callee is None or "alarm_topic_arn" not in callee.variables:
                continue
            r = single_ref(call.get("alarm_topic_arn"))
            if not (r and r[0] == "aws_sns_topic" and r[2] == "arn" and mod.resource("aws_sns_topic", r[1]) is not None):
                problems.append(f"{mod.rel}: module.{call_name}.alarm_topic_arn must be an aws_sns_topic of the example")
    return problems


# ---------------------------------------------------------------------------------------------
# Hygiene
# ---------------------------------------------------------------------------------------------


@invariant
def check_checkov_skips_justified(infra: Infra) -> list[str]:
    problems = []
    for mod in infra.modules.values():
        for fname, text in mod.texts.items():
            for line in text.splitlines():
                if "checkov:skip" not in line:
                    continue
                m = re.search(r"#checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)$", line)
                if not m or len(m.group(2).strip()) < 30:
                    problems.append(f"{mod.rel}/{fname}: checkov skip without a real reason: {line.strip()}")
    return problems


@invariant
def check_variables_typed_and_documented(infra: Infra) -> list[str]:
    """Every variable has a type and a description; every module README lists every input and
    output in its tables."""
    problems = []
    for mod in infra.modules.values():
        for name, var in mod.variables.items():
            if "type" not in var:
                problems.append(f"{mod.rel}: variable {name} has no type")
            if not var.get("description"):
                problems.append(f"{mod.rel}: variable {name} has no description")
        for name, out in mod.outputs.items():
            if not out.get("description"):
                problems.append(f"{mod.rel}: output {name} has no description")
        readme = mod.path / "README.md"
        if not readme.exists():
            problems.append(f"{mod.rel}: no README.md")
            continue
        text = readme.read_text()
        for name in list(mod.variables) + list(mod.outputs):
            if not re.search(rf"^\|\s*`{re.escape(name)}`\s*\|", text, re.M):
                problems.append(f"{mod.rel}/README.md: no table row for `{name}`")
    return problems


# ---------------------------------------------------------------------------------------------
# The InfluxDB sink (modules with a `sink` input)
#
# With sink = "influxdb" the recorder writes to a Timestream for InfluxDB instance in the
# caller's VPC. These checks evaluate the configuration in the scenarios of `_scenarios`.
# ---------------------------------------------------------------------------------------------

# What only the InfluxDB path creates; none of it may exist with the default sink.
INFLUXDB_PATH_TYPES = {
    "aws_timestreaminfluxdb_db_instance",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_version",
    "aws_vpc_endpoint",
    "random_password",
}


# Resources that had their `count` from the start (added after the sink input): no deployment
# ever had them at the address without [0], so they need no `moved` block and must have none
# (check_influxdb_sink_is_optional). Every other counted resource that exists with the default
# sink gained its count later and needs one.
ADDED_WITH_COUNT = {
    "modules/filetrail": {
        "aws_sqs_queue.timestream_rejected",
        "aws_sqs_queue_policy.timestream_rejected",
        "aws_s3_bucket_notification.rejected_data",
        "aws_cloudwatch_metric_alarm.timestream_rejected",
    },
}


def _sink_modules(infra: Infra) -> list[Module]:
    """Modules whose recorder writes to the sink their `sink` input chooses."""
    return [m for m in infra.modules.values() if "sink" in m.variables and _recorders(m)]


def _influxdb_scenarios(mod: Module) -> list[Scenario]:
    return [sc for sc in _scenarios(mod) if _sink(sc) == "influxdb"]


def _ref_name(value: Any, rtype: str) -> str | None:
    """`aws_x.name.attr` or `aws_x.name[0].attr` (or one(aws_x.name[*].attr)) -> name."""
    m = re.fullmatch(rf"(?:one\()?{re.escape(rtype)}\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.[a-z_]+\)?", text_of(value).strip())
    return m.group(1) if m else None


def _recorder_statements(sc: Scenario, function: str) -> list[dict]:
    return [st for _, doc in _role_documents(sc.mod, function) for st in sc.blocks(doc, "statement")]


def _actions(st: dict) -> list[str]:
    return [text_of(a) for a in as_list(st.get("actions"))]


def _instance(sc: Scenario) -> tuple[str, dict] | None:
    found = sc.resources("aws_timestreaminfluxdb_db_instance")
    return next(iter(found.items())) if len(found) == 1 else None


def _port(sc: Scenario, value: Any) -> Any:
    try:
        return sc.value(value)
    except Undecidable:
        return None


def _sg_rules(sc: Scenario, group: str) -> dict[str, list[tuple[str, dict]]]:
    """Rules of a security group of the module: {"ingress": [...], "egress": [...], "other": [...]}."""
    out: dict[str, list[tuple[str, dict]]] = {"ingress": [], "egress": [], "other": []}
    for rtype, kind in (("aws_vpc_security_group_ingress_rule", "ingress"), ("aws_vpc_security_group_egress_rule", "egress"), ("aws_security_group_rule", "other")):
        for name, rule in sc.mod.of_type(rtype).items():
            if _ref_name(rule.get("security_group_id"), "aws_security_group") == group:
                out[kind].append((f"{rtype}.{name}", rule))
    sg = sc.mod.resource("aws_security_group", group) or {}
    for kind in ("ingress", "egress"):
        if sg.get(kind) is not None:
            out["other"].append((f"aws_security_group.{group} inline {kind}", sg))
    return out


@invariant
def check_influxdb_sink_is_optional(infra: Infra) -> list[str]:
    """`sink` defaults to timestream and accepts only the two sinks. With the default nothing of
    the InfluxDB path exists, the recorder has no vpc_config and no secretsmanager:/ec2: action,
    and every resource that gained a `count` for the sink has a `moved` block from its old
    address, so an existing deployment plans no change; those created with their count
    (ADDED_WITH_COUNT) have none. With influxdb the Timestream resources exist only when
    create_timestream keeps them."""
    problems = []
    for mod in (m for m in infra.modules.values() if "sink" in m.variables):
        var = mod.variables["sink"]
        if var.get("default") != "timestream":
            problems.append(f"{mod.rel}: variable sink must default to \"timestream\"")
        if not any(re.fullmatch(r'contains\(\["timestream",\s*"influxdb"\],\s*var\.sink\)', v) for v in mod.var_validations("sink")):
            problems.append(f'{mod.rel}: variable sink must be validated as contains(["timestream", "influxdb"], var.sink)')
        default = Scenario(mod)
        for address in sorted(ADDED_WITH_COUNT.get(mod.rel, set())):
            body = mod.resource(*address.split(".", 1))
            if body is None or "count" not in body:
                problems.append(f"{mod.rel}: ADDED_WITH_COUNT names {address}, which is not a counted resource of the module")
        for (rtype, name), body in mod.resources.items():
            n = default.instances(body)
            if rtype in INFLUXDB_PATH_TYPES and n != 0:
                problems.append(f"{_where(mod, rtype, name)}: exists with the default sink ({'undecidable' if n is None else n} instances); the InfluxDB path must be absent")
            address = f"{rtype}.{name}"
            has_moved = (address, f"{address}[0]") in mod.moved or any(f == address for f, _ in mod.moved)
            if address in ADDED_WITH_COUNT.get(mod.rel, set()):
                if has_moved:
                    problems.append(f"{_where(mod, rtype, name)}: was created with its count; a `moved` block from {address}, an address no deployment had, records a history that never was")
            elif "count" in body and n == 1 and (address, f"{address}[0]") not in mod.moved:
                problems.append(f"{_where(mod, rtype, name)}: has a count but no `moved` block from {address} to {address}[0]; existing deployments would re-create it")
        for f in _recorders(mod):
            fn = mod.resource("aws_lambda_function", f) or {}
            if default.blocks(fn, "vpc_config"):
                problems.append(f"{_where(mod, 'aws_lambda_function', f)}: has a vpc_config with the default sink")
            for st in _recorder_statements(default, f):
                extra = [a for a in _actions(st) if a.startswith(("secretsmanager:", "ec2:"))]
                if extra:
                    problems.append(f"{mod.rel}: the recorder's statement {st.get('sid')} grants {extra} with the default sink")
        for sc in _influxdb_scenarios(mod):
            keep = "create_timestream" in sc.variables
            for name in ("aws_timestreamwrite_database", "aws_timestreamwrite_table"):
                for rname, body in mod.of_type(name).items():
                    if (sc.instances(body) != 0) != keep:
                        problems.append(f"{_where(mod, name, rname)}: with {sc} it must {'exist' if keep else 'not exist'}")
    return problems


@invariant
def check_influxdb_recorder_in_vpc(infra: Infra) -> list[str]:
    """With the InfluxDB sink the recorder has one vpc_config: the instance's subnets and one
    security group of the module, its own (not the instance's), which admits nothing and sends
    only to the instance's group on the InfluxDB port and to HTTPS."""
    problems = []
    for mod in _sink_modules(infra):
        for sc in _influxdb_scenarios(mod):
            inst = _instance(sc)
            for f in _recorders(mod):
                where = f"{_where(mod, 'aws_lambda_function', f)} with {sc}"
                vpcs = sc.blocks(mod.resource("aws_lambda_function", f) or {}, "vpc_config")
                if len(vpcs) != 1:
                    problems.append(f"{where}: needs exactly one vpc_config, has {len(vpcs)}")
                    continue
                vpc = vpcs[0]
                if inst is None or text_of(vpc.get("subnet_ids")) != text_of(inst[1].get("vpc_subnet_ids")):
                    problems.append(f"{where}: vpc_config.subnet_ids {text_of(vpc.get('subnet_ids'))} must be the instance's vpc_subnet_ids")
                groups = [_ref_name(g, "aws_security_group") for g in as_list(vpc.get("security_group_ids"))]
                instance_groups = [_ref_name(g, "aws_security_group") for g in as_list((inst or ("", {}))[1].get("vpc_security_group_ids"))]
                if len(groups) != 1 or groups[0] is None or not sc.exists("aws_security_group", groups[0]):
                    problems.append(f"{where}: vpc_config.security_group_ids must be one security group of this module")
                    continue
                group = groups[0]
                if group in instance_groups:
                    problems.append(f"{where}: the recorder must have its own security group, not the instance's ({group})")
                rules = _sg_rules(sc, group)
                for rule_name, _ in rules["ingress"] + rules["other"]:
                    problems.append(f"{where}: the recorder's security group must admit nothing and have only aws_vpc_security_group_egress_rule rules; found {rule_name}")
                port = _port(sc, (inst or ("", {}))[1].get("port"))
                for rule_name, rule in rules["egress"]:
                    to_instance = _ref_name(rule.get("referenced_security_group_id"), "aws_security_group") in instance_groups
                    p_from, p_to = _port(sc, rule.get("from_port")), _port(sc, rule.get("to_port"))
                    ok = rule.get("ip_protocol") == "tcp" and p_from == p_to and (
                        (to_instance and p_from == port and not rule.get("cidr_ipv4")) or (p_from == 443 and not rule.get("referenced_security_group_id"))
                    )
                    if not ok:
                        problems.append(f"{where}: {rule_name} must be tcp to the instance's group on {port} or tcp 443, nothing else")
                if not any(_ref_name(r.get("referenced_security_group_id"), "aws_security_group") in instance_groups for _, r in rules["egress"]):
                    problems.append(f"{where}: the recorder's security group has no egress to the instance's group")
    return problems


@invariant
def check_influxdb_instance_private(infra: Infra) -> list[str]:
    """With the InfluxDB sink there is one instance: not publicly accessible, in the subnets the
    caller gives (a validated variable), with only this module's security group; the recorder
    writes to it over TLS (its endpoint, https) into its organization and bucket."""
    problems = []
    for mod in _sink_modules(infra):
        for sc in _influxdb_scenarios(mod):
            inst = _instance(sc)
            if inst is None:
                problems.append(f"{mod.rel}: with {sc} there must be exactly one aws_timestreaminfluxdb_db_instance")
                continue
            name, body = inst
            where = f"{_where(mod, 'aws_timestreaminfluxdb_db_instance', name)} with {sc}"
            if body.get("publicly_accessible") is not False:
                problems.append(f"{where}: publicly_accessible must be the literal false")
            subnets = _var_name(body.get("vpc_subnet_ids"))
            if subnets is None or not any("subnet-" in v for v in mod.var_validations(subnets)):
                problems.append(f"{where}: vpc_subnet_ids must be a variable validated as subnet ids (the caller's private subnets)")
            groups = as_list(body.get("vpc_security_group_ids"))
            names = [_ref_name(g, "aws_security_group") for g in groups]
            if len(names) != 1 or names[0] is None or not sc.exists("aws_security_group", names[0]):
                problems.append(f"{where}: vpc_security_group_ids must be exactly one security group of this module")
            for f in _recorders(mod):
                env = _environment(sc, mod.resource("aws_lambda_function", f) or {}) or {}
                url = text_of(sc.value(env.get("FILETRAIL_INFLUXDB_URL")))
                if not re.fullmatch(rf'"https://\$\{{aws_timestreaminfluxdb_db_instance\.{re.escape(name)}\[0\]\.endpoint\}}:\$\{{[^}}]+\}}"', url):
                    problems.append(f"{where}: the recorder's FILETRAIL_INFLUXDB_URL ({url}) must be https://<this instance's endpoint>:<port>")
                for key, attr in (("FILETRAIL_INFLUXDB_ORG", "organization"), ("FILETRAIL_INFLUXDB_BUCKET", "bucket")):
                    v = text_of(env.get(key))
                    if _ref_name(v, "aws_timestreaminfluxdb_db_instance") != name or not v.rstrip(")").endswith(f".{attr}"):
                        problems.append(f"{where}: the recorder's {key} ({v}) must be this instance's {attr}")
    return problems


@invariant
def check_influxdb_port_only_from_recorder(infra: Infra) -> list[str]:
    """The instance's security group admits only tcp on the instance's port, only from security
    groups: the recorder's, and those the caller names in a variable validated as group ids.
    Never a CIDR or prefix list, never another port, no inline or legacy rules."""
    problems = []
    for mod in _sink_modules(infra):
        for sc in _influxdb_scenarios(mod):
            inst = _instance(sc)
            if inst is None:
                continue
            iname, ibody = inst
            port = _port(sc, ibody.get("port"))
            if port != 8086:
                problems.append(f"{mod.rel}: the instance's port must be 8086 (InfluxDB's), is {port!r}")
            recorder_groups = {
                _ref_name(g, "aws_security_group")
                for f in _recorders(mod)
                for vpc in sc.blocks(mod.resource("aws_lambda_function", f) or {}, "vpc_config")
                for g in as_list(vpc.get("security_group_ids"))
            }
            for g in as_list(ibody.get("vpc_security_group_ids")):
                group = _ref_name(g, "aws_security_group")
                if group is None:
                    continue
                rules = _sg_rules(sc, group)
                for rule_name, _ in rules["other"]:
                    problems.append(f"{mod.rel}: security group {group} of the instance: {rule_name} (use aws_vpc_security_group_ingress_rule only)")
                from_recorder = 0
                for rule_name, rule in rules["ingress"]:
                    where = f"{mod.rel}: {rule_name} (instance security group {group}) with {sc}"
                    p_from, p_to = _port(sc, rule.get("from_port")), _port(sc, rule.get("to_port"))
                    if rule.get("ip_protocol") != "tcp" or p_from != port or p_to != port:
                        problems.append(f"{where}: must admit tcp {port} only, admits {rule.get('ip_protocol')} {p_from}-{p_to}")
                    for key in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id"):
                        if rule.get(key) is not None:
                            problems.append(f"{where}: admits {key} {text_of(rule.get(key))}; only security groups may reach the instance")
                    source = rule.get("referenced_security_group_id")
                    if _ref_name(source, "aws_security_group") in recorder_groups - {None}:
                        from_recorder += 1
                    elif text_of(source) == "each.value":
                        fe = text_of(rule.get("for_each"))
                        client_vars = set(re.findall(r"var\.([A-Za-z0-9_]+)", fe))
                        if len(client_vars) != 1 or not all("sg-" in v for v in mod.var_validations(next(iter(client_vars)))):
                            problems.append(f"{where}: its source groups must come from one variable validated as security group ids, not {fe}")
                    else:
                        problems.append(f"{where}: source {text_of(source)} is neither the recorder's security group nor a caller-named group")
                if from_recorder != 1:
                    problems.append(f"{mod.rel}: security group {group} of the instance must admit the recorder's security group exactly once (found {from_recorder}) with {sc}")
    return problems


@invariant
def check_influxdb_token_from_secrets_manager(infra: Infra) -> list[str]:
    """With the InfluxDB sink the recorder gets the ARN of one Secrets Manager secret, never the
    token: FILETRAIL_INFLUXDB_TOKEN is not set, and FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN is the
    caller's secret (a variable validated as a secret ARN) or a secret this module creates
    without a value (no secret version: the token never passes through Terraform)."""
    problems = []
    for mod in _sink_modules(infra):
        arn_vars = [v for v in mod.variables if v.endswith("token_secret_arn")]
        for v in arn_vars:
            if not any(":secretsmanager:" in c and ":secret:" in c for c in mod.var_validations(v)):
                problems.append(f"{mod.rel}: variable {v} must be validated as a Secrets Manager secret ARN")
        for name in mod.of_type("aws_secretsmanager_secret_version"):
            problems.append(f"{_where(mod, 'aws_secretsmanager_secret_version', name)}: Terraform must not hold a secret's value")
        for sc in _influxdb_scenarios(mod):
            for f in _recorders(mod):
                where = f"{_where(mod, 'aws_lambda_function', f)} with {sc}"
                env = _environment(sc, mod.resource("aws_lambda_function", f) or {}) or {}
                if "FILETRAIL_INFLUXDB_TOKEN" in env:
                    problems.append(f"{where}: FILETRAIL_INFLUXDB_TOKEN puts the token in the environment; use FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN")
                if "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN" not in env:
                    problems.append(f"{where}: no FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN")
                    continue
                try:
                    arn = sc.value(env["FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN"])
                except Undecidable as e:
                    problems.append(f"{where}: cannot evaluate FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN: {e}")
                    continue
                given = [sc.variables[v] for v in arn_vars if v in sc.variables]
                if given:
                    if arn != given[0]:
                        problems.append(f"{where}: FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN is {text_of(arn)}, not the caller's secret {given[0]}")
                    continue
                secret = _ref_name(arn.text if isinstance(arn, Opaque) else "", "aws_secretsmanager_secret")
                if secret is None or not sc.exists("aws_secretsmanager_secret", secret) or not text_of(arn).rstrip(")").endswith(".arn"):
                    problems.append(f"{where}: FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN ({text_of(arn)}) must be the ARN of a secret this module creates")
    return problems


@invariant
def check_influxdb_secret_read_scoped(infra: Infra) -> list[str]:
    """The recorder may read exactly the token's secret: one statement, the one action
    secretsmanager:GetSecretValue, on exactly the ARN its environment names. No other
    secretsmanager action, no other secret (the admin credentials stay unreadable)."""
    problems = []
    for mod in _sink_modules(infra):
        for sc in _influxdb_scenarios(mod):
            for f in _recorders(mod):
                where = f"{mod.rel}: the recorder's policy with {sc}"
                env = _environment(sc, mod.resource("aws_lambda_function", f) or {}) or {}
                arn = text_of(env.get("FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN"))
                reading = [st for st in _recorder_statements(sc, f) if any(a.startswith("secretsmanager:") for a in _actions(st))]
                if len(reading) != 1:
                    problems.append(f"{where}: needs exactly one statement with secretsmanager actions, has {len(reading)}")
                for st in reading:
                    if _effect(st) != "Allow" or _actions(st) != ["secretsmanager:GetSecretValue"]:
                        problems.append(f"{where}: statement {st.get('sid')} must allow only secretsmanager:GetSecretValue, allows {_actions(st)}")
                    resources = [text_of(r) for r in as_list(st.get("resources"))]
                    if resources != [arn]:
                        problems.append(f"{where}: statement {st.get('sid')} must name only the token's secret {arn}, names {resources}")
    return problems


@invariant
def check_influxdb_sink_has_no_timestream_access(infra: Infra) -> list[str]:
    """With the InfluxDB sink (even when the Timestream table is kept) the recorder's role has no
    timestream: action and its environment no FILETRAIL_TIMESTREAM_ variable."""
    problems = []
    for mod in _sink_modules(infra):
        for sc in _influxdb_scenarios(mod):
            for f in _recorders(mod):
                for st in _recorder_statements(sc, f):
                    ts = [a for a in _actions(st) if a.startswith("timestream:")]
                    if ts:
                        problems.append(f"{mod.rel}: the recorder's statement {st.get('sid')} grants {ts} with {sc}")
                env = _environment(sc, mod.resource("aws_lambda_function", f) or {}) or {}
                for key in env:
                    if key.startswith("FILETRAIL_TIMESTREAM_"):
                        problems.append(f"{mod.rel}: the recorder gets {key} with {sc}")
    return problems


# ---------------------------------------------------------------------------------------------
# Pipeline health: the auditor (modules/filetrail-auditor) and the recorder's lag
#
# The auditor is the function that reads FILETRAIL_AUDIT_OLDER_THAN. It lists buckets and
# queries the trail; it writes nothing but its logs.
# ---------------------------------------------------------------------------------------------

# What each kind of resource the auditor's policy names is, by the reference that names it
# (crates/filetrail-audit: ListObjectsV2 on every bucket, GetObject on inventory reports,
# Timestream Query on the table; the InfluxDB path as the recorder's).
_AUDITOR_RESOURCE_KINDS = {
    "local.incoming_bucket_arn": "incoming bucket",
    "local.instrument_bucket_arns": "instrument buckets",
    "local.inventory_bucket_arn": "inventory bucket",
    "var.timestream_table_arn": "trail table",
    "aws_cloudwatch_log_group.auditor": "own log group",
    "var.influxdb_token_secret_arn": "read token secret",
    "local.network_interfaces_arn": "network interfaces",
    "aws_security_group.auditor": "own security group",
    "var.influxdb_subnet_ids": "given subnets",
}

_AUDITOR_BASE = {
    ("s3:ListBucket", "incoming bucket"),
    ("s3:ListBucket", "instrument buckets"),
    ("logs:CreateLogStream", "own log group objects"),
    ("logs:PutLogEvents", "own log group objects"),
}

# Exactly these (action, resource kind) pairs, per scenario: no GetObject on the mission's
# buckets (a listing carries what a finding needs), no write anywhere, "*" only for the two
# documented cases.
AUDITOR_GRANTS = {
    "timestream": _AUDITOR_BASE | {("timestream:Select", "trail table"), ("timestream:DescribeEndpoints", "*")},
    "inventory": _AUDITOR_BASE
    | {("timestream:Select", "trail table"), ("timestream:DescribeEndpoints", "*"), ("s3:GetObject", "inventory bucket objects")},
    "influxdb": _AUDITOR_BASE
    | {
        ("secretsmanager:GetSecretValue", "read token secret"),
        ("ec2:DescribeNetworkInterfaces", "*"),
        ("ec2:DescribeSubnets", "*"),
        ("ec2:CreateNetworkInterface", "network interfaces"),
        ("ec2:CreateNetworkInterface", "own security group"),
        ("ec2:CreateNetworkInterface", "given subnets"),
        ("ec2:DeleteNetworkInterface", "network interfaces"),
        ("ec2:AssignPrivateIpAddresses", "network interfaces"),
        ("ec2:UnassignPrivateIpAddresses", "network interfaces"),
    },
}

SAMPLE_INVENTORY_BUCKET = "hermes-inventory"
SAMPLE_INVENTORY_MANIFEST = f"s3://{SAMPLE_INVENTORY_BUCKET}/hermes-eea/daily/2026-01-01T01-00Z/manifest.json"


def _auditors(infra: Infra) -> list[tuple[Module, str, dict]]:
    return [(m, n, f) for m, n, f in infra.all_resources("aws_lambda_function") if "FILETRAIL_AUDIT_OLDER_THAN" in (_environment(Scenario(m), f) or {})]


def _auditor_scenarios(mod: Module) -> dict[str, Scenario]:
    return {
        "timestream": Scenario(mod),
        "inventory": Scenario(mod, inventory_bucket_name=SAMPLE_INVENTORY_BUCKET, inventory_manifests=[SAMPLE_INVENTORY_MANIFEST]),
        "influxdb": Scenario(mod, sink="influxdb", influxdb_token_secret_arn=SAMPLE_SECRET_ARN),
    }


def _resource_kinds(resource: Any) -> list[str]:
    """The kinds of resource one `resources` entry names (a list expression may name several)."""
    text = text_of(resource)
    if text == "*":
        return ["*"]
    found = []
    for r in refs(resource):
        if r == "local.ec2_arn_prefix":
            continue  # the prefix of the subnet ARNs built from var.influxdb_subnet_ids
        kind = _AUDITOR_RESOURCE_KINDS.get(r, f"other ({r})")
        found.append(kind + (" objects" if text.endswith("/*") or text.endswith(":*") else ""))
    return found or [f"other ({text})"]


def _granted(sc: Scenario, function: str) -> tuple[set[tuple[str, str]], list[str]]:
    pairs: set[tuple[str, str]] = set()
    problems = []
    for _, doc in _role_documents(sc.mod, function):
        for st in sc.blocks(doc, "statement"):
            if _effect(st) != "Allow" or blocks(st, "condition") or st.get("not_actions") or st.get("not_resources"):
                problems.append(f"statement {st.get('sid')} must be a plain Allow of actions on resources")
            for a in _actions(st):
                for r in as_list(st.get("resources")):
                    pairs.update((a, k) for k in _resource_kinds(r))
    return pairs, problems


@invariant
def check_auditor_grants_exactly(infra: Infra) -> list[str]:
    """The auditor's role allows exactly AUDITOR_GRANTS in each scenario (Timestream, with S3
    Inventory reports, InfluxDB): s3:ListBucket on the incoming and instrument buckets,
    s3:GetObject only on the inventory bucket's objects and only when one is given, Select on
    the trail's table, the read token's secret, the VPC attachment, its own log streams. And its
    environment names the inventory exactly when the policy lets it read one."""
    problems = []
    auditors = _auditors(infra)
    if not auditors:
        problems.append("no auditor function (one with FILETRAIL_AUDIT_OLDER_THAN) found")
    for mod, name, fn in auditors:
        for case, sc in _auditor_scenarios(mod).items():
            where = f"{_where(mod, 'aws_lambda_function', name)} with {sc}"
            got, bad = _granted(sc, name)
            problems.extend(f"{where}: {b}" for b in bad)
            want = AUDITOR_GRANTS[case]
            for a, k in sorted(got - want):
                problems.append(f"{where}: grants {a} on {k}, which the audit never calls")
            for a, k in sorted(want - got):
                problems.append(f"{where}: lacks {a} on {k} (the audit's call is refused without it)")
            env = _environment(sc, fn) or {}
            if ("FILETRAIL_AUDIT_INVENTORY" in env) != (case == "inventory"):
                problems.append(f"{where}: FILETRAIL_AUDIT_INVENTORY must be set exactly when inventory manifests are given")
    return problems


# The auditor's counts and how many audits in a row must find something before each alarms.
AUDIT_ALARMS = {"stuck_files": 2, "unprocessed_files": 2, "unrecorded_files": 1}
AUDIT_INTERVAL_MINUTES = 15
# The recorder's lag metrics (occurred_at -> written); an alarm must watch one of them.
RECORDING_LAG_METRICS = {"recording_lag_p50_ms", "recording_lag_max_ms"}


def _number(sc: Scenario, value: Any, depth: int = 0) -> float | None:
    """A number, following locals and `x * n` products (the model has no arithmetic)."""
    if depth > 6:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = text_of(value).strip()
    m = re.fullmatch(r"local\.([A-Za-z0-9_]+)", text)
    if m and m.group(1) in sc.mod.locals:
        return _number(sc, sc.mod.locals[m.group(1)], depth + 1)
    m = re.fullmatch(r"(.+?)\s*\*\s*([0-9]+)", text)
    if m:
        left = _number(sc, Expr(m.group(1)), depth + 1)
        return None if left is None else left * int(m.group(2))
    try:
        v = sc.value(value if isinstance(value, Expr) else Expr(text))
    except Undecidable:
        return None
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _rendered(sc: Scenario, value: Any, depth: int = 0) -> str | None:
    """A string with its `${...}` parts evaluated (numbers written as Terraform writes them)."""
    if depth > 6:
        return None
    text = text_of(value).strip()
    m = re.fullmatch(r"local\.([A-Za-z0-9_]+)", text)
    if isinstance(value, Expr) and m and m.group(1) in sc.mod.locals:
        return _rendered(sc, sc.mod.locals[m.group(1)], depth + 1)
    if not isinstance(value, str):
        return None
    out, last = [], 0
    for part in re.finditer(r"\$\{([^}]+)\}", value):
        n = _number(sc, Expr(part.group(1).strip()))
        if n is None:
            return None
        out += [value[last : part.start()], str(int(n)) if float(n).is_integer() else str(n)]
        last = part.end()
    return "".join(out + [value[last:]])


@invariant
def check_audit_schedule_and_alarms(infra: Infra) -> list[str]:
    """The auditor runs every 15 minutes by default: one schedule rule (no event pattern) targets
    it, with a Lambda permission for that rule only, and its rate follows the interval input.
    Each of its counts has one alarm over exactly one interval per period (so one audit per
    period), > 0, for two audits in a row (stuck, unprocessed) or one (unrecorded), treating a
    late audit's empty period as missing, not as clean. Callers keep the 15-minute default. And
    the recorder's lag (its EMF recording_lag metrics) is alarmed."""
    problems = []
    for mod, name, fn in _auditors(infra):
        where = _where(mod, "aws_lambda_function", name)
        rules = {
            r[1]
            for t in mod.of_type("aws_cloudwatch_event_target").values()
            if (ta := single_ref(t.get("arn"))) and ta[:2] == ("aws_lambda_function", name) and (r := single_ref(t.get("rule")))
        }
        if len(rules) != 1:
            problems.append(f"{where}: must be the target of exactly one rule, is of {sorted(rules)}")
        for rule in rules:
            body = mod.resource("aws_cloudwatch_event_rule", rule) or {}
            if body.get("event_pattern") is not None:
                problems.append(f"{mod.rel}: rule {rule} must be a schedule, not an event pattern")
            for minutes in (AUDIT_INTERVAL_MINUTES, 5):
                sc = Scenario(mod) if minutes == AUDIT_INTERVAL_MINUTES else Scenario(mod, audit_interval_minutes=minutes)
                expr = _rendered(sc, body.get("schedule_expression"))
                if expr != f"rate({minutes} minutes)":
                    problems.append(f"{mod.rel}: rule {rule} runs on {expr!r} with {sc}, not every {minutes} minutes")
            perms = [
                p
                for p in mod.of_type("aws_lambda_permission").values()
                if (f := single_ref(p.get("function_name"))) and f[:2] == ("aws_lambda_function", name)
            ]
            if len(perms) != 1 or single_ref(perms[0].get("source_arn")) != ("aws_cloudwatch_event_rule", rule, "arn") or perms[0].get("principal") != "events.amazonaws.com":
                problems.append(f"{where}: needs exactly one lambda permission, for events.amazonaws.com from rule {rule} only")
        seen: dict[str, int] = {}
        for aname, a in mod.of_type("aws_cloudwatch_metric_alarm").items():
            metric = a.get("metric_name")
            dim = single_ref((a.get("dimensions") or {}).get("function"))
            if metric not in AUDIT_ALARMS or not (dim and dim[:2] == ("aws_lambda_function", name)):
                continue
            seen[metric] = seen.get(metric, 0) + 1
            aw = _where(mod, "aws_cloudwatch_metric_alarm", aname)
            for minutes in (AUDIT_INTERVAL_MINUTES, 5):
                sc = Scenario(mod) if minutes == AUDIT_INTERVAL_MINUTES else Scenario(mod, audit_interval_minutes=minutes)
                if _number(sc, a.get("period")) != minutes * 60:
                    problems.append(f"{aw}: period must be one audit interval ({minutes * 60} s with {sc}), is {text_of(a.get('period'))}")
            n = AUDIT_ALARMS[metric]
            if a.get("evaluation_periods") != n or a.get("datapoints_to_alarm", n) != n:
                problems.append(f"{aw}: must alarm after {n} audit(s) in a row with {metric} > 0 (evaluation_periods = datapoints_to_alarm = {n})")
            if a.get("threshold") != 0 or a.get("comparison_operator") != "GreaterThanThreshold":
                problems.append(f"{aw}: must alarm on {metric} > 0")
            if a.get("treat_missing_data") != "missing":
                problems.append(f"{aw}: treat_missing_data must be \"missing\": a late audit's empty period is not a clean audit")
        for metric in AUDIT_ALARMS:
            if seen.get(metric) != 1:
                problems.append(f"{where}: needs exactly one alarm on {metric}, has {seen.get(metric, 0)}")
    if not _auditors(infra):
        problems.append("no auditor function (one with FILETRAIL_AUDIT_OLDER_THAN) found")
    for mod in infra.modules.values():
        for call_name, call in mod.calls.items():
            callee = infra.module_called_by(mod, call)
            if callee is None or not any(m is callee for m, _, _ in _auditors(infra)):
                continue
            value = call.get("audit_interval_minutes", AUDIT_INTERVAL_MINUTES)
            if _number(Scenario(mod), value) != AUDIT_INTERVAL_MINUTES:
                problems.append(f"{mod.rel}: module.{call_name} audits every {text_of(value)} minutes by default, not {AUDIT_INTERVAL_MINUTES}")
    for mod in infra.modules.values():
        for f in _recorders(mod):
            lag = [
                n
                for n, a in mod.of_type("aws_cloudwatch_metric_alarm").items()
                if a.get("metric_name") in RECORDING_LAG_METRICS
                and (d := single_ref((a.get("dimensions") or {}).get("function")))
                and d[:2] == ("aws_lambda_function", f)
            ]
            if not lag:
                problems.append(f"{mod.rel}: the recorder aws_lambda_function.{f} has no alarm on its recording lag ({sorted(RECORDING_LAG_METRICS)})")
    return problems
