"""How a hook run ends: the exit codes, and the two failures that carry the one line why."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class HookError(Exception):
    """The hook failed; str() is the one line saying why (exit 1)."""

    code = EXIT_FAILED


class HookUsage(HookError):
    """Bad input: str() names the flag, variable or config line (exit 2)."""

    code = EXIT_USAGE
