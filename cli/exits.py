"""The command line's exit codes: 0 done, 1 refused or failed, 2 usage or configuration."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
