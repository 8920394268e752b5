"""The one client of the sandbox's control API (`/_sandbox/...`): what the command line, the
tests and the bench scripts use to read the sandbox and switch its faults on and off.

One method per route. Every request says Content-Type: application/json, which the API
requires of anything that changes the sandbox, and is addressed to the endpoint's own
loopback host, which the API checks.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["ControlClient", "ControlError"]


class ControlError(Exception):
    """The control API refused a request (`status` is its HTTP status, the message its
    reason), or the sandbox could not be reached (`status` is None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ControlClient:
    """The control API of the sandbox at `endpoint_url` (what `cutover sandbox` prints as
    AWS_ENDPOINT_URL). Each method returns the API's JSON answer."""

    def __init__(self, endpoint_url: str, timeout: float = 10.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def summary(self) -> dict[str, Any]:
        """The world: its groups, instances, listeners and endpoints (`GET /_sandbox`)."""
        return self.request("GET", "/_sandbox")

    def faults(self) -> dict[str, Any]:
        """Every fault switched on, and the API requests counted (`GET /_sandbox/faults`)."""
        return self.request("GET", "/_sandbox/faults")

    def load(self) -> dict[str, Any]:
        """The load generator's counts (`GET /_sandbox/load`)."""
        return self.request("GET", "/_sandbox/load")

    def set_api_fault(self, **fields: Any) -> dict[str, Any]:
        """Throttle, slow, deny, drop answers to or cut off API calls: `throttle`,
        `latency_ms`, `services`, `operations`, `unreachable_s`, `deny`, `deny_operations`,
        `drop_response`, `drop_operations`."""
        return self.request("POST", "/_sandbox/faults/api", fields)

    def set_instance_fault(self, instance_id: str, **fields: Any) -> dict[str, Any]:
        """Make an instance `unhealthy`, `down`, slow (`slow_ms`) or failing (`error_rate`),
        or unhealthy only on the paths under `unhealthy_path` ("" clears it)."""
        return self.request("POST", f"/_sandbox/faults/instance/{instance_id}", fields)

    def set_deployment_fault(self, **fields: Any) -> dict[str, Any]:
        """Fail a lifecycle hook (`fail_hook`, `exit_code`, `times`), kill an instance at an
        event (`kill_at`), or keep replacements unhealthy (`unhealthy_replacements`);
        `instance_id` narrows the first two to one instance."""
        return self.request("POST", "/_sandbox/faults/deployment", fields)

    def set_alarm(self, name: str, state: str = "ALARM", reason: str | None = None) -> dict:
        """Set a CloudWatch alarm's state, as a breach or a recovery would."""
        body: dict[str, Any] = {"state": state}
        if reason is not None:
            body["reason"] = reason
        return self.request("POST", f"/_sandbox/faults/alarm/{name}", body)

    def clear_faults(self, instance_id: str | None = None) -> dict[str, Any]:
        """Switch every fault off, or only one instance's."""
        suffix = f"/instance/{instance_id}" if instance_id else ""
        return self.request("DELETE", f"/_sandbox/faults{suffix}")

    def request(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        """`method path` with a JSON `body`; the JSON answer, or ControlError."""
        url = self.endpoint_url + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error") or exc.reason
            except ValueError:
                message = f"HTTP {exc.code} (is {self.endpoint_url} a Cutover sandbox?)"
            raise ControlError(message, exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ControlError(
                f"cannot reach the sandbox at {self.endpoint_url}: {reason}"
            ) from None
