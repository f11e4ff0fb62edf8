"""The bus policy as AWS receives it: the JSON the stand-in's aws_iam_policy_document renders
(as hashicorp/aws renders it) in the applied example, and what it lets through.

The evaluation below is a model of AWS's documented policy evaluation for the few operators
these policies use, not IAM: within one account a request is allowed when the identity policy
or the resource policy allows it and nothing denies it; across accounts both must allow it; an
explicit Deny overrides every Allow
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
aws:PrincipalArn is the role's ARN for a role session
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field

import pytest

from tfrun import changes, state_resource

ACCOUNT = "123456789012"  # the stand-in's account
OTHER_ACCOUNT = "210987654321"
EXTERNAL = f"arn:aws:iam::{OTHER_ACCOUNT}:role/sdc-external"
OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/sdc-operator"


@dataclass
class Request:
    principal_arn: str
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    is_aws_service: bool = False

    @property
    def account(self) -> str:
        return self.principal_arn.split(":")[4]

    def keys(self) -> dict[str, str]:
        return {"aws:PrincipalArn": self.principal_arn, "aws:PrincipalIsAWSService": str(self.is_aws_service).lower(), **self.context}


def _list(v) -> list:
    return v if isinstance(v, list) else [v]


def _condition(cond: dict, req: Request) -> bool:
    keys = req.keys()
    for op, tests in cond.items():
        for key, values in tests.items():
            have = keys.get(key)
            values = _list(values)
            if op == "StringEquals":
                ok = have in values
            elif op == "StringNotEquals":
                ok = have not in values
            elif op == "Bool":
                ok = have in [str(v).lower() for v in values]
            else:
                raise AssertionError(f"the model does not know condition operator {op}")
            if not ok:
                return False
    return True


def _principal_matches(principal, req: Request) -> bool:
    if principal == "*":
        return True
    aws = _list(principal.get("AWS", []))
    return "*" in aws or req.principal_arn in aws or f"arn:aws:iam::{req.account}:root" in aws or req.account in aws


def _matches(st: dict, req: Request, resource_policy: bool) -> bool:
    if not any(fnmatch.fnmatchcase(req.action, a) for a in _list(st.get("Action", []))):
        return False
    if not any(fnmatch.fnmatchcase(req.resource, r) for r in _list(st.get("Resource", []))):
        return False
    if resource_policy and not _principal_matches(st.get("Principal"), req):
        return False
    return _condition(st.get("Condition", {}), req)


def decide(req: Request, identity: dict, bus: dict, bus_account: str = ACCOUNT) -> str:
    """'allow', 'deny' (explicit) or 'implicit-deny' for a PutEvents on the bus."""
    id_st = [s for s in identity.get("Statement", []) if _matches(s, req, False)]
    bus_st = [s for s in bus.get("Statement", []) if _matches(s, req, True)]
    if any(s["Effect"] == "Deny" for s in id_st + bus_st):
        return "deny"
    id_allow = any(s["Effect"] == "Allow" for s in id_st)
    bus_allow = any(s["Effect"] == "Allow" for s in bus_st)
    if req.account == bus_account:
        return "allow" if id_allow or bus_allow else "implicit-deny"
    return "allow" if id_allow and bus_allow else "implicit-deny"


def _put_events_anywhere() -> dict:
    """An identity policy that allows every PutEvents (an over-broad role of the account)."""
    return {"Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}


@pytest.fixture(scope="module")
def rendered(applied) -> dict:
    wd, _ = applied["timestream"]
    state = wd.state()
    (bus_doc,) = state_resource(state, "module.filetrail", "data", "aws_iam_policy_document", "bus")
    (bus_policy,) = state_resource(state, "module.filetrail", "managed", "aws_cloudwatch_event_bus_policy", "this")
    (bus,) = state_resource(state, "module.filetrail", "managed", "aws_cloudwatch_event_bus", "this")
    roles = {n: state_resource(state, "module.stages", "managed", "aws_iam_role", n)[0]["arn"] for n in ("sorter", "processor")}
    identity = {
        n: json.loads(state_resource(state, "module.stages", "data", "aws_iam_policy_document", n)[0]["json"]) for n in ("sorter", "processor")
    }
    assert bus_policy["policy"] == bus_doc["json"], "the bus policy is not the rendered document"
    return {"bus": json.loads(bus_doc["json"]), "bus_arn": bus["arn"], "roles": roles, "identity": identity}


def test_no_allow_names_a_principal_of_the_account(rendered) -> None:
    """AWS resolves every role ARN in a Principal element when the policy is saved; the stage
    roles are created in the same apply, so naming them fails a first apply."""
    for st in rendered["bus"]["Statement"]:
        if st["Effect"] == "Allow":
            principals = _list(st["Principal"]["AWS"]) if isinstance(st.get("Principal"), dict) else [st.get("Principal")]
            assert all(p.split(":")[4] != ACCOUNT for p in principals), st


def test_the_deny_names_exactly_the_publishers(rendered) -> None:
    deny = [st for st in rendered["bus"]["Statement"] if st["Effect"] == "Deny"]
    assert len(deny) == 1
    (st,) = deny
    assert st["Principal"] == "*" and st["Action"] == "events:PutEvents" and st["Resource"] == rendered["bus_arn"]
    assert sorted(_list(st["Condition"]["StringNotEquals"]["aws:PrincipalArn"])) == sorted(rendered["roles"].values())
    assert st["Condition"]["Bool"] == {"aws:PrincipalIsAWSService": "false"}


@pytest.mark.parametrize("stage,source,expected", [
    ("sorter", "sdc.sorter", "allow"),
    ("processor", "sdc.processor", "allow"),
    ("sorter", "sdc.processor", "implicit-deny"),  # its own source only: no bus Allow widens it
])
def test_stage_roles_publish_by_their_own_policy(rendered, stage: str, source: str, expected: str) -> None:
    req = Request(rendered["roles"][stage], "events:PutEvents", rendered["bus_arn"], {"events:source": source, "events:detail-type": "FileMoved"})
    assert decide(req, rendered["identity"][stage], rendered["bus"]) == expected


def test_other_roles_of_the_account_are_denied(rendered) -> None:
    req = Request(f"arn:aws:iam::{ACCOUNT}:role/anything-else", "events:PutEvents", rendered["bus_arn"])
    assert decide(req, _put_events_anywhere(), rendered["bus"]) == "deny"


def test_aws_services_are_not_denied(rendered) -> None:
    req = Request(f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/events.amazonaws.com/x", "events:PutEvents", rendered["bus_arn"], is_aws_service=True)
    assert decide(req, {}, rendered["bus"]) != "deny"


def test_cross_account_publishers_get_the_only_allow(applied, rendered) -> None:
    """With a publisher of another account (and an operator role of this one) the rendered
    policy allows exactly the other account's role; both publish, strangers do not."""
    wd, variables = applied["timestream"]
    wd.plan({**variables, "extra_publisher_role_arns": [EXTERNAL, OPERATOR]}, out="cross.tfplan")
    plan = wd.show("cross.tfplan")
    acts = {a: x for a, x, _ in changes(plan)}
    assert acts["module.filetrail.aws_cloudwatch_event_bus_policy.this"] == ("update",)
    (change,) = [c for c in plan["resource_changes"] if c["address"] == "module.filetrail.aws_cloudwatch_event_bus_policy.this"]
    bus = json.loads(change["change"]["after"]["policy"])
    allows = [st for st in bus["Statement"] if st["Effect"] == "Allow"]
    assert [st["Principal"] for st in allows] == [{"AWS": EXTERNAL}]
    arn = rendered["bus_arn"]
    assert decide(Request(EXTERNAL, "events:PutEvents", arn), _put_events_anywhere(), bus) == "allow"
    assert decide(Request(OPERATOR, "events:PutEvents", arn), _put_events_anywhere(), bus) == "allow"
    stranger = f"arn:aws:iam::{OTHER_ACCOUNT}:role/stranger"
    assert decide(Request(stranger, "events:PutEvents", arn), _put_events_anywhere(), bus) == "deny"
    # Without the bus policy's Allow, the other account's role could not publish at all.
    no_allow = {"Statement": [st for st in bus["Statement"] if st["Effect"] != "Allow"]}
    assert decide(Request(EXTERNAL, "events:PutEvents", arn), _put_events_anywhere(), no_allow) == "implicit-deny"
