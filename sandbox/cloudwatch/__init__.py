"""CloudWatch's domain in the sandbox: metric alarms and their evaluation, the Elastic Load
Balancing metrics read from the proxies, metric math, and what CloudWatch keeps per world.
The API handlers (cutover.sandbox.services.cloudwatch) decode, call these and encode."""
