"""botocore service models of the served services, loaded once, with lookup tables."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

SERVED_SERVICES: tuple[str, ...] = (
    "ec2",
    "autoscaling",
    "elb",
    "elbv2",
    "sts",
    "codedeploy",
    "cloudwatch",
)
"""botocore service names the wire layer routes."""

# Wire protocol names, as botocore spells them.
EC2 = "ec2"
QUERY = "query"
JSON = "json"
CBOR = "smithy-rpc-v2-cbor"


@dataclass(frozen=True, eq=False)
class ServiceInfo:
    """What routing and error encoding need to know about one service."""

    name: str
    model: ServiceModel
    signing_name: str
    api_version: str
    target_prefix: str | None
    json_version: str
    protocols: tuple[str, ...]
    xml_namespace: str
    query_compatible: bool
    operations: frozenset[str]
    error_by_code: dict[str, Shape] = field(repr=False)
    code_by_shape_name: dict[str, str] = field(repr=False)

    def operation(self, name: str) -> OperationModel:
        """The operation model; ``name`` must be in ``operations``."""
        return self.model.operation_model(name)

    def resolve_error(self, code: str, status: int | None) -> tuple[str, int, bool]:
        """(wire code, HTTP status, sender fault) for an error code raised by a handler."""
        shape = self.error_by_code.get(code)
        if shape is None and code in self.code_by_shape_name:
            code = self.code_by_shape_name[code]
            shape = self.error_by_code.get(code)
        meta = shape.metadata.get("error", {}) if shape is not None else {}
        if status is None:
            status = int(meta.get("httpStatusCode", 400))
        sender = bool(meta["senderFault"]) if "senderFault" in meta else status < 500
        return code, status, sender


@functools.lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def load_service(name: str) -> ServiceInfo:
    """The (cached) ServiceInfo for a botocore service name; raises for unknown names."""
    model = _session().get_service_model(name)
    md = model.metadata
    protocols = tuple(md.get("protocols") or [md["protocol"]])
    errors: dict[str, Shape] = {}
    code_by_shape: dict[str, str] = {}
    for shape in model.error_shapes:
        errors[shape.error_code] = shape
        code_by_shape[shape.name] = shape.error_code
    return ServiceInfo(
        name=name,
        model=model,
        signing_name=md.get("signingName") or md["endpointPrefix"],
        api_version=md["apiVersion"],
        target_prefix=md.get("targetPrefix"),
        json_version=md.get("jsonVersion", "1.0"),
        protocols=protocols,
        xml_namespace=md.get("xmlNamespace", ""),
        query_compatible="awsQueryCompatible" in md,
        operations=frozenset(model.operation_names),
        error_by_code=errors,
        code_by_shape_name=code_by_shape,
    )


def enum_of(service: str, shape: str) -> tuple[str, ...]:
    """The values a modeled string shape allows, in the model's order (error messages list
    them so)."""
    return tuple(load_service(service).model.shape_for(shape).enum)


def limit_of(service: str, shape: str, key: str = "max") -> int:
    """A modeled shape's `min` or `max` constraint (a length, or an integer's bound)."""
    return int(load_service(service).model.shape_for(shape).metadata[key])
