"""The command line's exit codes.

0 done (with --wait: the effect was seen), 1 refused or failed, 2 usage or configuration;
with --wait, an action AWS accepted whose effect then failed (the deployment failed or
stopped, CodeDeploy's rollback failed) exits 3, and one not seen within --wait-timeout
exits 4 (the state may still get there: `cutover status` tells); Ctrl-C exits 130.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_EFFECT_FAILED = 3
EXIT_WAIT_TIMEOUT = 4
