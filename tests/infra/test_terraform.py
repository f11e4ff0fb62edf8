"""Terraform checked as Terraform: the real binary validates each module and the example, plans
and applies the example for both sinks on the stand-in providers (tests/infra/standin), and a
second plan must show no changes; the `moved` blocks must plan as moves; switching the sink
with create_timestream keeps the table. Each step, the re-plan and the moves check included,
is shown to refuse a broken file.

What this cannot check (the stand-ins know AWS's schemas, not AWS): values (names, ARN
formats, limits), rules AWS enforces when it is called, IAM semantics. ARCHITECTURE.md says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tfrun import INFLUXDB_VARS, INFRA, Result, TerraformError, Workdir, changes, copy_infra

DIRS = ["modules/filetrail", "modules/filetrail-stages", "modules/filetrail-auditor", "examples/complete"]
SINKS = ["timestream", "influxdb"]


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Workdir]:
    root = copy_infra(tmp_path_factory.mktemp("validate") / "infra")
    out = {}
    for rel in DIRS:
        wd = Workdir(root, rel)
        wd.init()
        out[rel] = wd
    return out


@pytest.mark.parametrize("rel", DIRS)
def test_validate(validated: dict[str, Workdir], rel: str) -> None:
    # Not attached: Terraform starts the stand-ins from the mirror itself, as it would any
    # installed provider (every other run attaches to stand-ins started once; tfrun.py).
    res = validated[rel].validate(attach=False)
    assert "Success! The configuration is valid." in res.out, res.out


# What watches the rejected-data bucket: it exists exactly when the bucket does.
REJECTION_WATCH = [
    "module.filetrail.aws_sqs_queue.timestream_rejected[0]",
    "module.filetrail.aws_sqs_queue_policy.timestream_rejected[0]",
    "module.filetrail.aws_s3_bucket_notification.rejected_data[0]",
    "module.filetrail.aws_cloudwatch_metric_alarm.timestream_rejected[0]",
]


@pytest.mark.parametrize("sink", SINKS)
def test_plan_creates_the_deployment(applied, sink: str) -> None:
    """The first plan (the one applied) creates everything and nothing else; the sink decides
    which store exists."""
    wd, _ = applied[sink]
    plan = wd.show("first.tfplan")
    acts = {a for _, a, _ in changes(plan)}
    assert acts == {("create",)}, acts
    addresses = {a for a, _, _ in changes(plan)}
    table = "module.filetrail.aws_timestreamwrite_table.this[0]"
    instance = "module.filetrail.aws_timestreaminfluxdb_db_instance.this[0]"
    if sink == "timestream":
        assert table in addresses and instance not in addresses
        assert set(REJECTION_WATCH) <= addresses, set(REJECTION_WATCH) - addresses
    else:
        assert instance in addresses and table not in addresses
        assert not set(REJECTION_WATCH) & addresses, set(REJECTION_WATCH) & addresses
    assert "module.filetrail.aws_cloudwatch_event_bus_policy.this" in addresses


# The checks, each a function so that the broken files below run the very same code.


def check_second_plan_is_empty(wd: Workdir, variables: dict) -> None:
    """After an apply, a plan of the same configuration shows no changes."""
    res = wd.plan(variables, out="again.tfplan", check=False, exitcode=True)
    assert res.rc == 0, f"a second plan after the apply is not empty (exit {res.rc}):\n{res.out}"
    assert "No changes." in res.out


def moved_blocks(infra: Path = INFRA) -> set[tuple[str, str]]:
    """(from, to) of every `moved` block of the core module."""
    text = "\n".join(p.read_text() for p in sorted((infra / "modules/filetrail").glob("*.tf")))
    return set(re.findall(r"moved\s*\{\s*from\s*=\s*(\S+)\s*to\s*=\s*(\S+)\s*\}", text))


def pre_count_state(state: dict, moved: set[tuple[str, str]]) -> dict:
    """The applied state as it was before the Timestream resources were counted: the moved
    blocks' `from` addresses, without [0]."""
    state = json.loads(json.dumps(state))
    old = {f for f, _ in moved}
    rewritten = 0
    for r in state["resources"]:
        if r.get("module") == "module.filetrail" and f"{r['type']}.{r['name']}" in old:
            assert [i.get("index_key") for i in r["instances"]] == [0], r["instances"]
            r.pop("each", None)
            for i in r["instances"]:
                i.pop("index_key")
            rewritten += 1
    assert rewritten == len(moved)
    state["serial"] += 1
    return state


def check_plans_as_moves(wd: Workdir, variables: dict, state: dict, moved: set[tuple[str, str]]) -> None:
    """From `state` (pre_count_state), the plan of `wd` is the moves `moved` and nothing else:
    nothing destroyed, created or changed."""
    (wd.dir / "terraform.tfstate").write_text(json.dumps(state))
    wd.init()
    wd.plan(variables)
    plan = wd.show()
    moves = {(prev, addr) for addr, acts, prev in changes(plan) if prev}
    expected = {(f"module.filetrail.{f}", f"module.filetrail.{t}") for f, t in moved}
    others = [f"{a}: {','.join(acts)}" for a, acts, _ in changes(plan) if acts != ("no-op",)]
    assert moves == expected and not others, (
        "the pre-count state does not plan as moves only: "
        f"moves missing {sorted(expected - moves)}, moves not expected {sorted(moves - expected)}, other changes {others}"
    )


@pytest.mark.parametrize("sink", SINKS)
def test_second_plan_after_apply_shows_no_changes(applied, sink: str) -> None:
    wd, variables = applied[sink]
    check_second_plan_is_empty(wd, variables)


def test_moved_blocks_plan_as_moves(applied, tmp_path: Path) -> None:
    """A state from before the Timestream resources were counted (their addresses without [0])
    plans as moves only: nothing is destroyed, created or changed."""
    wd, variables = applied["timestream"]
    moved = moved_blocks()
    assert len(moved) >= 8, moved
    new = Workdir(copy_infra(tmp_path / "infra"), "examples/complete")
    check_plans_as_moves(new, variables, pre_count_state(wd.state(), moved), moved)


def test_switching_to_influxdb_keeps_the_table_with_create_timestream(applied) -> None:
    """The example's create_timestream keeps the Timestream database, table and rejected-data
    bucket, and what watches the bucket, when an existing deployment switches sink; without it
    the plan destroys them."""
    wd, variables = applied["timestream"]
    kept = [
        "module.filetrail.aws_timestreamwrite_database.this[0]",
        "module.filetrail.aws_timestreamwrite_table.this[0]",
        "module.filetrail.aws_s3_bucket.rejected_data[0]",
        *REJECTION_WATCH,
    ]
    wd.plan({**variables, **INFLUXDB_VARS, "create_timestream": True}, out="switch-keep.tfplan")
    acts = dict((a, acts) for a, acts, _ in changes(wd.show("switch-keep.tfplan")))
    for addr in kept:
        assert acts.get(addr) == ("no-op",), f"{addr}: {acts.get(addr)}"
    wd.plan({**variables, **INFLUXDB_VARS}, out="switch-drop.tfplan")
    acts = dict((a, acts) for a, acts, _ in changes(wd.show("switch-drop.tfplan")))
    assert acts.get("module.filetrail.aws_timestreamwrite_table.this[0]") == ("delete",)
    for addr in REJECTION_WATCH:
        assert acts.get(addr) == ("delete",), f"{addr}: {acts.get(addr)}"


def test_force_destroy_reaches_every_bucket_and_the_secret(applied) -> None:
    """With force_destroy every bucket the example creates can be destroyed with its objects,
    and the token secret is deleted without a recovery window; the default keeps both."""
    for sink in SINKS:
        wd, _ = applied[sink]
        for r in wd.state()["resources"]:
            if r["mode"] == "managed" and r["type"] == "aws_s3_bucket":
                for i in r["instances"]:
                    assert i["attributes"]["force_destroy"] is False, (r["name"], i["attributes"]["force_destroy"])
    after: dict[str, dict] = {}
    for sink in SINKS:
        wd, variables = applied[sink]
        wd.plan({**variables, "force_destroy": True}, out="force.tfplan")
        after.update({c["address"]: c["change"]["after"] for c in wd.show("force.tfplan")["resource_changes"]})
    buckets = {a: v["force_destroy"] for a, v in after.items() if ".aws_s3_bucket." in f".{a}"}
    assert "module.filetrail.aws_s3_bucket.rejected_data[0]" in buckets and len(buckets) >= 6, buckets
    assert all(v is True for v in buckets.values()), buckets
    secrets = {a: v["recovery_window_in_days"] for a, v in after.items() if ".aws_secretsmanager_secret." in f".{a}"}
    assert secrets == {"module.filetrail.aws_secretsmanager_secret.influxdb_token[0]": 0}, secrets


# ---------------------------------------------------------------------------------------------
# Each step refuses a broken file.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    """A file broken so that exactly one step refuses it, and every step before accepts it:
    fmt; validate (of the directory the file is in); plan (of the example); reapply (plan,
    apply, then check_second_plan_is_empty); moves (check_plans_as_moves from the state the
    repository's own moved blocks start from)."""

    step: str
    file: str
    pattern: str
    replacement: str
    expect: str  # in terraform's output or the check's message
    why: str

    def apply(self, root: Path) -> None:
        path = root / self.file
        text = path.read_text()
        assert text.count(self.pattern) == 1, f"{self.why}: pattern must occur once in {self.file}"
        path.write_text(text.replace(self.pattern, self.replacement))


BROKEN = [
    Broken("fmt", "examples/complete/main.tf", 'name = "${var.name_prefix}-alarms"', 'name =    "${var.name_prefix}-alarms"', "main.tf", "badly formatted"),
    Broken(
        "validate",
        "modules/filetrail/bus.tf",
        'resource "aws_cloudwatch_event_bus" "this" {\n',
        'resource "aws_cloudwatch_event_bus" "this" {\n  colour = "blue"\n',
        'An argument named "colour" is not expected here',
        "unknown argument",
    ),
    Broken(
        "validate",
        "modules/filetrail/recorder.tf",
        "event_source_arn                   = aws_sqs_queue.events.arn",
        "event_source_arn                   = aws_sqs_queue.events.arm",
        'This object has no argument, nested block, or exported attribute named "arm"',
        "wrong attribute reference",
    ),
    Broken(
        "validate",
        "examples/complete/main.tf",
        "event_bus_arn             = module.filetrail.event_bus_arn",
        "event_bus_arn             = module.filetrail.bus_arn",
        'This object does not have an attribute named "bus_arn"',
        "wrong reference to a module output",
    ),
    Broken(
        "validate",
        "modules/filetrail/recorder.tf",
        "  function_name    = local.recorder_function_name\n",
        "",
        'The argument "function_name" is required',
        "missing required argument",
    ),
    Broken(
        "plan",
        "examples/complete/variables.tf",
        '  default     = "filetrail"\n',
        '  default     = "filetrail-with-a-longer-prefix"\n',
        "The rejected-data bucket name is longer than 63 characters",
        "precondition",
    ),
    Broken(
        "plan",
        "modules/filetrail/timestream.tf",
        "  count         = local.create_timestream ? 1 : 0\n  database_name = var.timestream_database_name",
        "  count         = length(aws_cloudwatch_event_bus.this.arn) > 0 ? 1 : 0\n  database_name = var.timestream_database_name",
        "Invalid count argument",
        "count known only after apply",
    ),
    Broken(
        "reapply",
        "modules/filetrail/bus.tf",
        "  name = var.name_prefix\n  tags = var.tags\n",
        "  name = var.name_prefix\n  tags = merge(var.tags, { applied_at = timestamp() })\n",
        "# module.filetrail.aws_cloudwatch_event_bus.this will be updated in-place",
        "perpetual diff (a value known only at apply time, new on every plan)",
    ),
    Broken(
        "moves",
        "modules/filetrail/timestream.tf",
        "  to   = aws_timestreamwrite_table.this[0]\n",
        "  to   = aws_timestreamwrite_table.this[1]\n",
        "module.filetrail.aws_timestreamwrite_table.this[1]: delete",
        "moved block to the wrong address",
    ),
]


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: f"{b.step}:{b.why}")
def test_each_step_refuses_a_broken_file(broken: Broken, tmp_path: Path, tf_zips: Path, tf_providers, request) -> None:
    root = copy_infra(tmp_path / "infra")
    broken.apply(root)
    example = broken.step in ("plan", "reapply", "moves")
    wd = Workdir(root, "examples/complete" if example else str(Path(broken.file).parent))
    variables = {"lambda_zip_dir": str(tf_zips)}
    if broken.step == "fmt":
        res = wd.run("fmt", "-check", "-recursive", str(root), check=False)
    elif broken.step in ("validate", "plan"):
        wd.init()
        res = wd.validate(check=False)
        if broken.step == "plan":
            assert res.rc == 0, f"{broken.why}: validate already refuses it, so it is no plan-only check:\n{res.out}"
            res = wd.plan(variables, check=False)
    else:
        wd.init()
        wd.validate()  # every earlier step accepts the file (a TerraformError here fails the test)
        if broken.step == "reapply":
            wd.plan(variables, out="first.tfplan")
            wd.run("apply", "-input=false", "first.tfplan")
            check, args = check_second_plan_is_empty, (wd, variables)
        else:
            applied_wd, variables = request.getfixturevalue("applied")["timestream"]
            moved = moved_blocks()  # the repository's: the addresses a deployment's history has
            wd.plan(variables, out="fresh.tfplan")  # a fresh deployment plans
            check, args = check_plans_as_moves, (wd, variables, pre_count_state(applied_wd.state(), moved), moved)
        with pytest.raises(AssertionError) as refused:
            check(*args)
        assert not isinstance(refused.value, TerraformError), f"{broken.why}: terraform failed, not the check:\n{refused.value}"
        res = Result(1, str(refused.value))
    assert res.rc != 0, f"terraform {broken.step} accepted a file with a {broken.why}:\n{res.out}"
    assert broken.expect in " ".join(res.out.split()), f"{broken.why}: expected {broken.expect!r} in:\n{res.out}"


def test_terraform_itself_moves_a_resource_that_gained_count(applied, tmp_path: Path) -> None:
    """Why no broken file above deletes a moved block: each moves X to X[0] where `count` was
    added, which Terraform proposes by itself when no moved block says otherwise ("Enabling
    count or for_each for a resource", Terraform's refactoring documentation). So without the
    blocks the pre-count state still plans as the same moves; they stay as the record of the
    change, and a block that moves elsewhere is refused (BROKEN)."""
    wd, variables = applied["timestream"]
    moved = moved_blocks()
    new = Workdir(copy_infra(tmp_path / "infra"), "examples/complete")
    for f, t in moved:
        Broken("moves", "modules/filetrail/timestream.tf", f"moved {{\n  from = {f}\n  to   = {t}\n}}\n", "", "", "").apply(new.root)
    assert moved_blocks(new.root) == set()
    check_plans_as_moves(new, variables, pre_count_state(wd.state(), moved), moved)
