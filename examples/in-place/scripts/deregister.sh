#!/bin/sh
# ApplicationStop: out of the load balancer before the application stops. Exits non-zero (and
# fails the deployment) when the instance cannot be taken out cleanly; the reason is the last
# line of the log CodeDeploy shows.
set -eu
exec cutover hook deregister --config "$(dirname "$0")/../cutover-hooks.yaml"
