"""Shared by the security suites: the figures the schemathesis run reports at the end of a session."""

# Filled by test_schemathesis.py; printed in the terminal summary and kept in pytest's cache
# (`python -m pytest --cache-show ats/schemathesis`), so the figures are easy to report.
FIGURES: dict = {}


def pytest_terminal_summary(terminalreporter):
    from .logcheck import SUITE_FIGURES

    if SUITE_FIGURES["tests"]:
        terminalreporter.write_sep("-", "logs")
        terminalreporter.write_line(
            f"{SUITE_FIGURES['lines']} log lines of {SUITE_FIGURES['tests']} API tests checked: "
            "no password, token, password hash or JWT secret"
        )
    if not FIGURES:
        return
    terminalreporter.write_sep("-", "schemathesis")
    terminalreporter.write_line(
        f"{FIGURES['operations']} operations x {len(FIGURES['roles'])} roles ({', '.join(FIGURES['roles'])}): "
        f"{FIGURES['cases']} generated cases, {FIGURES['requests']} requests, {FIGURES['failures']} failures"
    )
    for role, figures in FIGURES["by_role"].items():
        terminalreporter.write_line(
            f"  {role}: {figures['cases']} cases, {figures['requests']} requests, {figures['failures']} failures"
        )
    terminalreporter.write_line(
        "  answers by status: " + ", ".join(f"{status}: {n}" for status, n in FIGURES["statuses"].items())
    )
