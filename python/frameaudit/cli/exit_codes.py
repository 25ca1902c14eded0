"""Exit statuses (docs/user-guide.md section 8) and the --fail-on verdict."""

OK = 0        # nothing at or above --fail-on
FINDINGS = 1  # findings at or above --fail-on
ERROR = 2     # usage or input error, or frameaudit could not do its work

FAIL_ON_CHOICES = ("error", "warning", "never")


def verdict(errors: int, warnings: int, fail_on: str) -> int:
    """Exit status for a document with these counts under --fail-on."""
    if fail_on == "never":
        return OK
    if fail_on == "warning":
        return FINDINGS if errors + warnings > 0 else OK
    return FINDINGS if errors > 0 else OK
