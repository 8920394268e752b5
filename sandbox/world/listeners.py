"""Listeners and rules of Application and Network Load Balancers: their actions, conditions
and security settings, checked the way Elastic Load Balancing checks them, and changed.

Actions are stored normalized (a forward action always with ForwardConfig and weights),
which is what the data plane routes by.
"""

from __future__ import annotations

import copy
from typing import Any

from cutover.sandbox.world.loadbalancers import find_lb
from cutover.sandbox.world.model import Listener, LoadBalancer, Rule, WorldError
from cutover.sandbox.world.state import State

MAX_WEIGHT = 999
MAX_FORWARD_GROUPS = 5
MAX_STICKINESS_SECONDS = 604800

ALB_PROTOCOLS = ("HTTP", "HTTPS")
NLB_PROTOCOLS = ("TCP", "TLS", "UDP", "TCP_UDP")
TERMINAL_ACTIONS = ("forward", "redirect", "fixed-response")
# The Action shape documents these configs as "[HTTPS listeners]".
HTTPS_ONLY_ACTIONS = ("authenticate-oidc", "authenticate-cognito", "jwt-validation")
SECURE_PROTOCOLS = ("HTTPS", "TLS")
ACTION_CONFIG_KEY = {
    "redirect": "RedirectConfig",
    "fixed-response": "FixedResponseConfig",
    "authenticate-oidc": "AuthenticateOidcConfig",
    "authenticate-cognito": "AuthenticateCognitoConfig",
    "jwt-validation": "JwtValidationConfig",
}
# Condition fields and the typed config AWS echoes next to the legacy Field/Values form.
CONDITION_CONFIG_KEY = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "query-string": "QueryStringConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "source-ip": "SourceIpConfig",
}


def normalize_action(action: dict) -> dict:
    """An action as AWS stores and returns it.

    A forward action always carries ForwardConfig (weights default to 1, stickiness off) and,
    when it forwards to exactly one group, TargetGroupArn too.
    """
    out: dict[str, Any] = {"Type": action["Type"]}
    if action["Type"] == "forward":
        cfg = action.get("ForwardConfig") or {}
        groups = cfg.get("TargetGroups") or (
            [{"TargetGroupArn": action["TargetGroupArn"]}] if action.get("TargetGroupArn") else []
        )
        tuples = [
            {"TargetGroupArn": g["TargetGroupArn"], "Weight": int(g.get("Weight", 1))}
            for g in groups
        ]
        if len(tuples) == 1:
            out["TargetGroupArn"] = tuples[0]["TargetGroupArn"]
        sticky_in = cfg.get("TargetGroupStickinessConfig") or {}
        sticky: dict[str, Any] = {"Enabled": bool(sticky_in.get("Enabled", False))}
        if sticky["Enabled"] and "DurationSeconds" in sticky_in:
            sticky["DurationSeconds"] = int(sticky_in["DurationSeconds"])
        out["ForwardConfig"] = {"TargetGroups": tuples, "TargetGroupStickinessConfig": sticky}
    else:
        key = ACTION_CONFIG_KEY.get(action["Type"])
        if key and key in action:
            out[key] = copy.deepcopy(action[key])
    if "Order" in action:
        out["Order"] = int(action["Order"])
    return out


def normalize_condition(condition: dict) -> dict:
    """A rule condition as AWS returns it: legacy Values next to the typed config."""
    out = copy.deepcopy(condition)
    field = out.get("Field")
    key = CONDITION_CONFIG_KEY.get(field or "")
    # Only host-header and path-pattern have both spellings; AWS mirrors one into the other.
    if field in ("host-header", "path-pattern") and key:
        if "Values" in out and key not in out:
            out[key] = {"Values": list(out["Values"])}
        elif key in out and "Values" not in out:
            out["Values"] = list(out[key].get("Values", []))
    return out


def protocol_family(lb: LoadBalancer) -> tuple[str, ...]:
    return NLB_PROTOCOLS if lb.type == "network" else ALB_PROTOCOLS


def validate_actions(
    world: State, lb: LoadBalancer, protocol: str, actions: list[dict], where: str
) -> list[dict]:
    """Check actions the way ELB does and return them normalized for storage."""
    if not actions:
        raise WorldError("ValidationError", f"At least one action must be specified in '{where}'")
    ordered = sorted(enumerate(actions), key=lambda ia: (ia[1].get("Order", ia[0] + 1), ia[0]))
    terminal = [a for _, a in ordered if a["Type"] in TERMINAL_ACTIONS]
    if len(terminal) != 1 or ordered[-1][1]["Type"] not in TERMINAL_ACTIONS:
        raise WorldError(
            "InvalidLoadBalancerAction",
            "Exactly one forward, redirect or fixed-response action must be specified, "
            "and it must be the last action",
        )
    for index, action in enumerate(actions, start=1):
        kind = action["Type"]
        path = f"{where}.{index}.member"
        if lb.type == "network" and kind != "forward":
            raise WorldError(
                "InvalidLoadBalancerAction",
                f"Network Load Balancers support only forward actions, not '{kind}'",
            )
        if kind in HTTPS_ONLY_ACTIONS and protocol != "HTTPS":
            raise WorldError(
                "InvalidLoadBalancerAction",
                f"Actions of type '{kind}' are supported only on HTTPS listeners.",
            )
        if kind == "forward":
            _validate_forward(world, lb, protocol, action, path)
        elif ACTION_CONFIG_KEY.get(kind) and ACTION_CONFIG_KEY[kind] not in action:
            raise WorldError(
                "ValidationError",
                f"{ACTION_CONFIG_KEY[kind]} must be specified for a '{kind}' action",
            )
    return [normalize_action(a) for _, a in ordered]


def _validate_forward(
    world: State, lb: LoadBalancer, protocol: str, action: dict, path: str
) -> None:
    cfg = action.get("ForwardConfig") or {}
    groups = cfg.get("TargetGroups") or []
    single = action.get("TargetGroupArn")
    if not groups and not single:
        raise WorldError(
            "ValidationError", "A target group ARN must be specified for a forward action"
        )
    if single and groups and (len(groups) != 1 or groups[0].get("TargetGroupArn") != single):
        raise WorldError(
            "ValidationError",
            "You cannot specify both TargetGroupArn and ForwardConfig unless they name the "
            "same single target group",
        )
    if len(groups) > MAX_FORWARD_GROUPS:
        raise WorldError(
            "ValidationError",
            f"1 validation error detected: Value at '{path}.forwardConfig.targetGroups' failed "
            f"to satisfy constraint: Member must have length less than or equal to "
            f"{MAX_FORWARD_GROUPS}",
        )
    arns = [g["TargetGroupArn"] for g in groups] or [single]
    if len(set(arns)) != len(arns):
        raise WorldError(
            "ValidationError", "A target group can appear only once in a forward action"
        )
    for n, group in enumerate(groups, start=1):
        weight = group.get("Weight", 1)
        if not 0 <= weight <= MAX_WEIGHT:
            bound = "greater than or equal to 0" if weight < 0 else "less than or equal to 999"
            raise WorldError(
                "ValidationError",
                f"1 validation error detected: Value '{weight}' at "
                f"'{path}.forwardConfig.targetGroups.{n}.member.weight' failed to satisfy "
                f"constraint: Member must have value {bound}",
            )
    sticky = cfg.get("TargetGroupStickinessConfig") or {}
    if sticky.get("Enabled") and not 1 <= sticky.get("DurationSeconds", 3600) <= (
        MAX_STICKINESS_SECONDS
    ):
        raise WorldError(
            "ValidationError",
            f"Target group stickiness duration must be between 1 and {MAX_STICKINESS_SECONDS} "
            "seconds",
        )
    missing = [arn for arn in arns if arn not in world.target_groups]
    if missing:
        raise WorldError(
            "TargetGroupNotFound",
            f"One or more target groups not found: {', '.join(map(repr, missing))}",
        )
    for arn in arns:
        tg = world.target_groups[arn]
        if tg.protocol not in protocol_family(lb):
            raise WorldError(
                "IncompatibleProtocols",
                f"The protocol of target group '{tg.name}' ({tg.protocol}) is incompatible "
                f"with listener protocol '{protocol}'",
            )
        # A target group serves a single load balancer; sharing it is a modeled limit error.
        others = [other.name for other in world.load_balancers_of(tg) if other.arn != lb.arn]
        if others:
            raise WorldError(
                "TargetGroupAssociationLimit",
                f"The following target groups cannot be associated with more than one load "
                f"balancer: '{arn}' (already used by '{others[0]}')",
            )


def _security(
    listener: Listener, protocol: str, certificates: list[dict] | None, policy: str | None
) -> tuple[list[dict], str | None]:
    """The certificates and security policy the listener has after the change.

    "Any properties that you do not specify remain unchanged. Changing the protocol from
    HTTPS to HTTP, or from TLS to TCP, removes the security policy and default certificate
    properties. If you change the protocol from HTTP to HTTPS, or from TCP to TLS, you must
    add the security policy and default certificate properties." (ModifyListener)
    """
    if protocol not in SECURE_PROTOCOLS:
        if policy:
            raise WorldError(
                "ValidationError", f"An SSL policy cannot be specified for {protocol} listeners."
            )
        if certificates:
            raise WorldError(
                "ValidationError", f"Certificates cannot be specified for {protocol} listeners."
            )
        return [], None
    if certificates is None:
        certificates = listener.certificates if listener.protocol in SECURE_PROTOCOLS else []
    if policy is None:
        policy = listener.ssl_policy if listener.protocol in SECURE_PROTOCOLS else None
    if not certificates:
        raise WorldError(
            "ValidationError", f"A certificate must be specified for {protocol} listeners"
        )
    if (
        len(certificates) != 1
        or not certificates[0].get("CertificateArn")
        or ("IsDefault" in certificates[0])
    ):
        raise WorldError(
            "ValidationError",
            "Exactly one default certificate must be specified, with CertificateArn and "
            "without IsDefault",
        )
    cert = certificates[0]["CertificateArn"]
    if not cert.startswith("arn:") or not (
        ":certificate/" in cert or ":server-certificate/" in cert
    ):
        raise WorldError("CertificateNotFound", f"Certificate '{cert}' not found")
    if not policy:
        raise WorldError(
            "ValidationError", f"A security policy must be specified for {protocol} listeners"
        )
    if not policy.startswith("ELBSecurityPolicy-"):
        raise WorldError("SSLPolicyNotFound", f"SSL policy '{policy}' not found")
    return [{"CertificateArn": cert}], policy


def modify_listener(
    world: State,
    listener: Listener,
    *,
    port: int | None,
    protocol: str | None,
    certificates: list[dict] | None,
    ssl_policy: str | None,
    default_actions: list[dict] | None,
) -> None:
    """Change a listener's port, protocol, certificate, security policy and/or default
    actions; what is not given (None) stays as it is. Everything is validated before anything
    changes."""
    lb = find_lb(world, listener.lb_arn)
    port = listener.port if port is None else port
    protocol = listener.protocol if protocol is None else protocol
    if protocol not in protocol_family(lb):
        raise WorldError(
            "UnsupportedProtocol",
            f"Protocol '{protocol}' is not supported by {lb.type} load balancers",
        )
    certificates, policy = _security(listener, protocol, certificates, ssl_policy)
    if any(other.port == port for other in lb.listeners.values() if other.arn != listener.arn):
        raise WorldError(
            "DuplicateListener",
            f"A listener already exists on port {port} for load balancer '{lb.arn}'",
        )
    actions = listener.default_rule.actions
    if default_actions is not None:
        actions = validate_actions(world, lb, protocol, default_actions, "defaultActions")
    elif protocol != listener.protocol:
        validate_actions(world, lb, protocol, actions, "defaultActions")
    if protocol != listener.protocol:
        # The other rules' actions must suit the new protocol too.
        for rule in listener.rules[1:]:
            validate_actions(world, lb, protocol, rule.actions, "actions")
    listener.port = port
    listener.protocol = protocol
    listener.certificates = certificates
    listener.ssl_policy = policy
    listener.default_rule.actions = actions


def modify_rule(
    world: State,
    listener: Listener,
    rule: Rule,
    actions: list[dict] | None,
    conditions: list[dict] | None,
) -> None:
    """Replace a rule's actions and/or conditions (None: unchanged)."""
    lb = find_lb(world, listener.lb_arn)
    new_actions = rule.actions
    new_conditions = rule.conditions
    if actions is not None:
        new_actions = validate_actions(world, lb, listener.protocol, actions, "actions")
    if conditions is not None:
        if rule.is_default:
            raise WorldError(
                "OperationNotPermitted", "The default rule's conditions cannot be modified"
            )
        if not conditions:
            raise WorldError("ValidationError", "A rule must have at least one condition")
        new_conditions = []
        for condition in conditions:
            field = condition.get("Field")
            if field not in CONDITION_CONFIG_KEY:
                raise WorldError("ValidationError", f"Condition field '{field}' is not supported")
            new_conditions.append(normalize_condition(condition))
    rule.actions = new_actions
    rule.conditions = new_conditions
