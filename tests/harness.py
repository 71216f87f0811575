"""Pulumi mocks that record every registration (type, name, parent, options, inputs)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import pulumi
from pulumi.runtime import mocks, rpc

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
MOCK_REGION = "eu-west-3"
MOCK_ACCOUNT = "123456789012"


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict
    protect: bool
    retain_on_delete: bool
    dependencies: list[str] = field(default_factory=list)
    provider: str = ""
    raw_inputs: dict = field(default_factory=dict)
    # (create, update) custom timeouts as the engine receives them ("" = the provider default).
    timeouts: tuple[str, str] = ("", "")
    ignore_changes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]


class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs as state; RandomPassword gets a recognisable fake value per resource."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {
                "name": args.inputs["name"],
                "outputs": self.stack_outputs.get(args.inputs["name"], {}),
                "secretOutputNames": [],
            }
        if args.typ == RANDOM_PASSWORD:
            state["result"] = fake_password(args.name, args.inputs.get("length"))
        # Computed attributes of the AWS resources, shaped as AWS would return them.
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucket"] = f"{args.name}-bucket-1a2b3c"
            state["arn"] = f"arn:aws:s3:::{state['bucket']}"
            return state["bucket"], state
        if args.typ == "aws:secretsmanager/secret:Secret":
            state["arn"] = (
                f"arn:aws:secretsmanager:{MOCK_REGION}:{MOCK_ACCOUNT}:secret:{args.name}-AbCdEf"
            )
            return state["arn"], state
        if args.typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup"):
            # The provider names them (auto-naming): the name the instance refers to.
            state.setdefault("name", f"{args.name}-7d6c5b")
        if args.typ == "random:index/randomId:RandomId":
            state["hex"] = "a1b2c3d4"
            # As the provider derives it: the same bytes, standard base64.
            state["b64Std"] = base64.b64encode(
                bytes.fromhex("a1b2c3d4" * (int(args.inputs.get("byteLength", 4)) // 4))
            ).decode()
        if args.typ == "aws:rds/instance:Instance":
            state["address"] = f"{args.name}.c9akciq32.{MOCK_REGION}.rds.amazonaws.com"
            state["masterUserSecrets"] = [
                {
                    "secretArn": f"arn:aws:secretsmanager:{MOCK_REGION}:{MOCK_ACCOUNT}:secret:rds!db-{args.name}-XyZ12",
                    "kmsKeyId": args.inputs.get(
                        "masterUserSecretKmsKeyId", "alias/aws/secretsmanager"
                    ),
                    "secretStatus": "active",
                }
            ]
        if args.typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::{MOCK_ACCOUNT}:role/{args.name}-9f8e7d"
            return f"{args.name}-9f8e7d", state
        return f"{args.name}-id", state

    def __init__(self, stack_outputs: Optional[dict] = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        # Outputs of other stacks, by fully qualified name, for StackReferences.
        self.stack_outputs = stack_outputs or {}

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": MOCK_REGION, "name": MOCK_REGION, "id": MOCK_REGION}, []
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return subnet(args.args["id"]), []
        return {}, []


# The VPC every mocked subnet is in, but for ids ending in "ff" (another VPC).
MOCK_VPC = "vpc-0a1b2c3d4e5f60718"
OTHER_VPC = "vpc-00000000000000002"


def subnet(subnet_id: str) -> dict:
    """A subnet as ``ec2:DescribeSubnets`` describes it: its CIDR and zone follow from its id's
    last two hex digits (subnet-...0b: 10.0.11.0/24, zone b: the number modulo 3)."""
    number = int(subnet_id[-2:], 16)
    return {
        "id": subnet_id,
        "cidrBlock": f"10.0.{number}.0/24",
        "availabilityZone": f"{MOCK_REGION}{'abc'[number % 3]}",
        "vpcId": OTHER_VPC if subnet_id.endswith("ff") else MOCK_VPC,
    }


def fake_password(name: str, length: "int | None" = None) -> str:
    """A recognisable value per resource, exactly ``length`` characters long as pulumi-random's
    would be (a shorter fake once hid that Django's deploy check refuses a SECRET_KEY under 50)."""
    value = f"Gen3rated{name.replace('-', '')}Value"
    if length is None:
        return value
    length = int(length)  # the engine's protocol carries numbers as floats
    return (value + "0123456789abcdefghij" * (length // 20 + 1))[:length]


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mock: pulumi.runtime.Mocks):
        super().__init__(mock)
        self.registrations: list[Registration] = []
        self.outputs: dict[str, dict] = {}

    def RegisterResourceOutputs(self, request):
        self.outputs[request.urn] = unwrap_secrets(
            rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        )
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    inputs=unwrap_secrets(raw),
                    protect=request.protect,
                    retain_on_delete=request.retainOnDelete,
                    dependencies=list(request.dependencies),
                    provider=request.provider,
                    raw_inputs=raw,
                    timeouts=(request.customTimeouts.create, request.customTimeouts.update),
                    ignore_changes=list(request.ignoreChanges),
                )
            )
        return response


def is_secret(value: Any) -> bool:
    """Whether a raw wire value is marked secret (the engine encrypts these in state)."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def unwrap_secrets(value: Any) -> Any:
    """Secret values arrive wrapped on the wire; tests look at what they hold."""
    if isinstance(value, dict):
        if rpc._special_sig_key in value and "value" in value:
            return unwrap_secrets(value["value"])
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


class Run:
    """One program run under mocks: what it registered, and what its outputs resolved to."""

    def __init__(self, registrations: list[Registration], result: Any, outputs: dict[str, dict]):
        self.registrations = registrations
        self.result = result
        self.outputs = outputs

    def of_type(self, suffix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.endswith(suffix)]

    def one(self, suffix: str, name: Optional[str] = None) -> Registration:
        found = [r for r in self.of_type(suffix) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {suffix} {name or ''}, got {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, got {len(found)}"
        return found[0]


def run_program(
    program: Callable[[], Any],
    config: Optional[dict] = None,
    project: str = "djangoapp",
    stack: str = "test",
    mocks: Optional[RecordingMocks] = None,
) -> Run:
    """Run ``program`` under fresh mocks; outputs it returns are resolved into ``Run.result``."""
    mock = mocks or RecordingMocks()
    monitor = RecordingMonitor(mock)
    pulumi.runtime.set_all_config(config or {})
    pulumi.runtime.set_mocks(mock, project=project, stack=stack, preview=False, monitor=monitor)
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def body():
        value = program()
        return pulumi.Output.from_input(value).apply(lambda v: resolved.setdefault("value", v))

    body()
    urns = [r.urn for r in monitor.registrations]
    duplicates = sorted({u for u in urns if urns.count(u) > 1})
    # The real engine refuses a second registration of a URN; the mock monitor does not.
    assert not duplicates, f"registered more than once: {duplicates}"
    return Run(monitor.registrations, resolved.get("value"), monitor.outputs)


def run_project(
    start: Any,
    stack: str,
    config: Optional[dict] = None,
    *,
    preview: bool = False,
    mocks: Optional[RecordingMocks] = None,
    secret_keys: Sequence[str] = (),
) -> Run:
    """Run a whole Pulumi project's program through the engine-faithful runner (working
    directory, ``sys.path``, root directory and config as ``pulumi up`` sets them).
    ``config`` None: the stack file's, as the engine types it."""
    from pathlib import Path

    from pulumi_djangoapp.tools import runner

    project = runner.load_project(Path(start))
    if config is None:
        config, secret_keys = runner.stack_config(project, stack)
    mock = mocks or RecordingMocks()
    monitor = RecordingMonitor(mock)
    try:
        runner.run(
            project, stack, config, mock, secret_keys=secret_keys, monitor=monitor, preview=preview
        )
    except Exception as error:
        # What was registered before the program failed: a bad input must leave nothing behind.
        error.registrations = list(monitor.registrations)  # type: ignore[attr-defined]
        raise
    urns = [r.urn for r in monitor.registrations]
    duplicates = sorted({u for u in urns if urns.count(u) > 1})
    assert not duplicates, f"registered more than once: {duplicates}"
    return Run(monitor.registrations, None, monitor.outputs)
