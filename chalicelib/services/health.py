"""Readiness: can the configured storage (and broker, when there is one) be reached?"""

from collections.abc import Callable

from ..config import Settings
from ..storage import UnitOfWork


def check_health(new_uow: Callable[[], UnitOfWork], settings: Settings) -> dict:
    """Each dependency's readiness; `new_uow` may itself fail (a store that cannot be opened)."""
    checks = {}
    try:
        uow = new_uow()
        uow.ping()
        checks["storage"] = "ok"
    except Exception as error:  # readiness reports any failure instead of raising it
        checks["storage"] = f"unavailable: {type(error).__name__}"
    else:
        checks.update(uow.dispatcher.checks(settings))  # the broker's, when there is one
    status = "ok" if all(value == "ok" for value in checks.values()) else "unavailable"
    return {"status": status, "checks": checks}
