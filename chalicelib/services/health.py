"""Readiness: can the configured storage (and broker, when there is one) be reached?"""

from ..config import Settings
from ..storage import unit_of_work


def check_health(settings: Settings) -> dict:
    checks = {}
    try:
        with unit_of_work(settings) as uow:
            uow.ping()
        checks["storage"] = "ok"
    except Exception as error:  # readiness reports any failure instead of raising it
        checks["storage"] = f"unavailable: {type(error).__name__}"
    if settings.redis_url:
        from ..messaging.publisher import ping  # imports redis: only when a broker is configured

        try:
            ping(settings)
            checks["broker"] = "ok"
        except Exception as error:
            checks["broker"] = f"unavailable: {type(error).__name__}"
    status = "ok" if all(value == "ok" for value in checks.values()) else "unavailable"
    return {"status": status, "checks": checks}
