#!/bin/sh
# ApplicationStart: back into the load balancer once the application runs. Returns when the
# instance is healthy in every target group and load balancer it was taken out of.
set -eu
exec cutover hook register --config "$(dirname "$0")/../cutover-hooks.yaml"
