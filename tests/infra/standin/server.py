"""A schema-only Terraform provider: plugin protocol 6 over gRPC, served to the real
`terraform` binary from a filesystem mirror (see mirror.py).

It answers GetProviderSchema from the schema recovered from the provider's CDK for Terraform
binding (schema.py), so Terraform itself checks every argument, block, type and reference.
Plans follow the schema (values.py); applies fill what was unknown with deterministic,
plausible values (behaviour.py) and keep the state in Terraform's own state file, so a second
plan after an apply shows whether the configuration converges. ReadResource returns the state
unchanged: there is no AWS behind it.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
import traceback
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from tf.gen import grpc_controller_pb2 as controller_pb
from tf.gen import grpc_controller_pb2_grpc as controller_rpc
from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc
from tf.runner import _self_signed_cert
from tf.utils import read_dynamic_value, to_dynamic_value

from .behaviour import Aws
from .values import fill, normalize, plan_create, plan_update

# go-plugin's handshake: core protocol 1, plugin protocol 6, and the cookie Terraform sets.
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"

_NESTING = {"single": 1, "list": 2, "set": 3, "map": 4, "group": 5}


def _cty(ty: Any) -> bytes:
    return json.dumps(ty).encode()


def _attr_pb(name: str, a: dict, sensitive: bool) -> pb.Schema.Attribute:
    kw: dict[str, Any] = dict(
        name=name,
        required=bool(a.get("required")),
        optional=bool(a.get("optional")),
        computed=bool(a.get("computed")),
        sensitive=sensitive or bool(a.get("sensitive")),
        description="",
    )
    if "nested_type" in a:
        nt = a["nested_type"]
        kw["nested_type"] = pb.Schema.Object(
            attributes=[_attr_pb(n, x, False) for n, x in sorted(nt.get("attributes", {}).items())],
            nesting=_NESTING[nt["nesting_mode"]],
            min_items=nt.get("min_items", 0),
            max_items=nt.get("max_items", 0),
        )
    else:
        kw["type"] = _cty(a["type"])
    return pb.Schema.Attribute(**kw)


def block_pb(block: dict, sensitive: frozenset[str] = frozenset()) -> pb.Schema.Block:
    """The protocol's Schema.Block of a `providers schema -json` block."""
    return pb.Schema.Block(
        attributes=[_attr_pb(n, a, n in sensitive) for n, a in sorted(block.get("attributes", {}).items())],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=n,
                block=block_pb(bt["block"]),
                nesting=_NESTING[bt["nesting_mode"]],
                min_items=bt.get("min_items", 0),
                max_items=bt.get("max_items", 0),
            )
            for n, bt in sorted(block.get("block_types", {}).items())
        ],
    )


# Attributes the real providers mark sensitive (their registry documentation says
# "Sensitive"); the CDK for Terraform bindings do not carry the flag.
SENSITIVE = {
    "random_password": frozenset({"result", "bcrypt_hash"}),
    "random_string": frozenset(),
    "aws_timestreaminfluxdb_db_instance": frozenset({"password"}),
}


def schema_response(doc: dict) -> pb.GetProviderSchema.Response:
    """GetProviderSchema's response for a schema document written by schema.write."""
    (source,) = doc["provider_schemas"]
    s = doc["provider_schemas"][source]
    provider_block = dict(s["provider"]["block"])
    # The bindings add `alias`, a Terraform meta-argument, to every provider block.
    provider_block["attributes"] = {k: v for k, v in provider_block.get("attributes", {}).items() if k != "alias"}
    return pb.GetProviderSchema.Response(
        provider=pb.Schema(version=0, block=block_pb(provider_block)),
        provider_meta=pb.Schema(version=0, block=pb.Schema.Block()),
        resource_schemas={
            n: pb.Schema(version=r.get("version", 0), block=block_pb(r["block"], SENSITIVE.get(n, frozenset())))
            for n, r in s["resource_schemas"].items()
        },
        data_source_schemas={
            n: pb.Schema(version=r.get("version", 0), block=block_pb(r["block"])) for n, r in s["data_source_schemas"].items()
        },
        server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
    )


def _diag(summary: str, detail: str = "") -> pb.Diagnostic:
    return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)


def _logged(f):
    def wrapper(self, request, context):
        try:
            return f(self, request, context)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            raise

    wrapper.__name__ = f.__name__
    return wrapper


class _Blocks:
    """type name -> schema block of a `resource_schemas`/`data_source_schemas` mapping."""

    def __init__(self, schemas: dict):
        self.schemas = schemas

    def __getitem__(self, name: str) -> dict:
        return self.schemas[name]["block"]


class Servicer(rpc.ProviderServicer):
    """The Provider service of one stand-in provider process."""

    def __init__(self, schema_json: Path, schema_bytes: bytes):
        # Terraform starts a provider several times per command, mostly only for its schema:
        # the JSON (for planning) is read on the first request that needs it.
        self.schema_json = schema_json
        self._doc: dict | None = None
        self.schema_bytes = schema_bytes
        self._schema_response: pb.GetProviderSchema.Response | None = None
        self.aws = Aws()

    def _schemas(self) -> dict:
        if self._doc is None:
            doc = json.loads(self.schema_json.read_text())
            (source,) = doc["provider_schemas"]
            self._doc = doc["provider_schemas"][source]
        return self._doc

    @property
    def resources(self) -> dict:
        return _Blocks(self._schemas()["resource_schemas"])

    @property
    def data_sources(self) -> dict:
        return _Blocks(self._schemas()["data_source_schemas"])

    @_logged
    def GetMetadata(self, request, context):
        return pb.GetMetadata.Response(server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True))

    @_logged
    def GetProviderSchema(self, request, context):
        if self._schema_response is None:
            self._schema_response = pb.GetProviderSchema.Response.FromString(self.schema_bytes)
        return self._schema_response

    @_logged
    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    @_logged
    def ValidateResourceConfig(self, request, context):
        return pb.ValidateResourceConfig.Response()

    @_logged
    def ValidateDataResourceConfig(self, request, context):
        return pb.ValidateDataResourceConfig.Response()

    @_logged
    def ConfigureProvider(self, request, context):
        self.aws.configure(read_dynamic_value(request.config))
        return pb.ConfigureProvider.Response()

    @_logged
    def UpgradeResourceState(self, request, context):
        block = self.resources[request.type_name]
        raw = json.loads(request.raw_state.json) if request.raw_state.json else {}
        return pb.UpgradeResourceState.Response(upgraded_state=to_dynamic_value(normalize(block, raw)))

    @_logged
    def ReadResource(self, request, context):
        block = self.resources[request.type_name]
        state = read_dynamic_value(request.current_state)
        return pb.ReadResource.Response(new_state=to_dynamic_value(normalize(block, state)), private=request.private)

    @_logged
    def PlanResourceChange(self, request, context):
        name = request.type_name
        block = self.resources[name]
        prior = read_dynamic_value(request.prior_state)
        proposed = read_dynamic_value(request.proposed_new_state)
        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=to_dynamic_value(None))
        special = self.aws.special(name)
        planned = plan_create(block, proposed, special) if prior is None else plan_update(block, proposed, special)
        return pb.PlanResourceChange.Response(planned_state=to_dynamic_value(planned), planned_private=request.prior_private)

    @_logged
    def ApplyResourceChange(self, request, context):
        name = request.type_name
        block = self.resources[name]
        planned = read_dynamic_value(request.planned_state)
        if planned is None:  # destroy
            return pb.ApplyResourceChange.Response(new_state=to_dynamic_value(None))
        new = fill(block, planned, self.aws.generator(name, planned))
        return pb.ApplyResourceChange.Response(new_state=to_dynamic_value(new), private=request.planned_private)

    @_logged
    def ImportResourceState(self, request, context):
        block = self.resources[request.type_name]
        state = normalize(block, {"id": request.id})
        return pb.ImportResourceState.Response(
            imported_resources=[pb.ImportResourceState.ImportedResource(type_name=request.type_name, state=to_dynamic_value(state))]
        )

    @_logged
    def MoveResourceState(self, request, context):
        return pb.MoveResourceState.Response(
            diagnostics=[_diag("The stand-in provider moves no state between resource types", "Only moves within a type (moved blocks) are supported.")]
        )

    @_logged
    def ReadDataSource(self, request, context):
        block = self.data_sources[request.type_name]
        config = normalize(block, read_dynamic_value(request.config))
        state = normalize(block, self.aws.read_data(request.type_name, config))
        return pb.ReadDataSource.Response(state=to_dynamic_value(state))

    @_logged
    def GetFunctions(self, request, context):
        return pb.GetFunctions.Response()

    @_logged
    def StopProvider(self, request, context):
        return pb.StopProvider.Response()


def serve(schema_json: Path, schema_pb: Path, reattach: bool = False) -> None:
    """Runs one provider process as go-plugin expects: print the handshake line, serve until
    Terraform shuts the plugin down.

    With `reattach`, the process is one Terraform attaches to instead of starting its own
    (TF_REATTACH_PROVIDERS, go-plugin's reattach: plain gRPC on a unix socket, `"Test": true`
    so Terraform never stops it): it prints the socket's address as JSON and serves every
    command that attaches, until its stdin closes (the test run that started it ended)."""
    if not reattach and os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This is a Terraform provider plugin; Terraform starts it.\n")
        sys.exit(1)
    servicer = Servicer(schema_json, schema_pb.read_bytes())
    stopped = threading.Event()

    class Controller(controller_rpc.GRPCControllerServicer):
        def Shutdown(self, request, context):
            if not reattach:  # attached to, it outlives each command
                stopped.set()
            return controller_pb.Empty()

    class Stdio(stdio_rpc.GRPCStdioServicer):
        def StreamStdio(self, request, context):
            return iter([])

    options = [("grpc.max_send_message_length", 256 << 20), ("grpc.max_receive_message_length", 256 << 20)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    rpc.add_ProviderServicer_to_server(servicer, server)
    controller_rpc.add_GRPCControllerServicer_to_server(Controller(), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(Stdio(), server)
    with tempfile.TemporaryDirectory(prefix="tf-standin-") as tmp:
        sock = f"{tmp}/plugin.sock"
        if reattach:
            server.add_insecure_port(f"unix://{sock}")
            server.start()
            sys.stdout.write(json.dumps({"Network": "unix", "String": sock}) + "\n")
            sys.stdout.flush()
            sys.stdin.read()
            server.stop(grace=0.2)
            return
        chain, credentials = _self_signed_cert()
        server.add_secure_port(f"unix://{sock}", credentials)
        server.start()
        cert = base64.b64encode(chain).decode().rstrip("=")
        sys.stdout.write(f"1|6|unix|{sock}|grpc|{cert}\n")
        sys.stdout.flush()
        stopped.wait()
        server.stop(grace=0.2)
