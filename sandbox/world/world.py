"""The World: the state as time passes.

`tick` (the data plane calls it about every 0.1 s real) finishes drains, lets Auto Scaling
act on every group, forgets instances terminated long ago, then runs the tick hooks of the
things that move by themselves outside this package (CodeDeploy, CloudWatch alarms).
"""

from __future__ import annotations

from cutover.sandbox.world import autoscaling
from cutover.sandbox.world.model import Target
from cutover.sandbox.world.state import State

# AWS keeps terminated instances visible for about an hour.
TERMINATED_VISIBLE = 3600


class World(State):
    """Everything the sandbox knows, and the rules that move it (see `State`)."""

    def tick(self) -> None:
        """Advance everything that moves by itself: drains, Auto Scaling, terminations."""
        with self.lock:
            now = self.elapsed()
            self._finish_drains(now)
            for asg in list(self.asgs.values()):
                autoscaling.reconcile(self, asg)
            self._expire_terminated(now)
            for hook in list(self.tick_hooks):
                hook()

    def _finish_drains(self, now: float) -> None:
        def delay_over(t: Target) -> bool:
            return t.draining and now >= (t.drain_deadline or 0)

        # A target group shows a deregistering target `draining` for the whole deregistration
        # delay, even when its last request ended long before (ELBv2 user guides).
        for tg in self.target_groups.values():
            for key in [k for k, t in tg.targets.items() if delay_over(t)]:
                del tg.targets[key]
        # Classic connection draining ends with the last in-flight request, or the timeout.
        for clb in self.classic_lbs.values():
            for key in [
                k
                for k, t in clb.instances.items()
                if delay_over(t) or (t.draining and t.inflight <= 0)
            ]:
                del clb.instances[key]

    def _expire_terminated(self, now: float) -> None:
        for inst_id in [
            i.id
            for i in self.instances.values()
            if i.state == "terminated"
            and i.terminated_at is not None
            and now - i.terminated_at > TERMINATED_VISIBLE
        ]:
            del self.instances[inst_id]
