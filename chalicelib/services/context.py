"""What every use case runs in: the request's unit of work, the settings, and who asks.

A use case takes it first, then what it acts on (ids), then its options: one order everywhere,
and no use case forwards three values to the next.
"""

from dataclasses import dataclass

from ..config import Settings
from ..domain.models import Principal
from ..storage import UnitOfWork


@dataclass(frozen=True)
class Context:
    """A use case's context; `who` is None for a caller who is not signed in."""

    uow: UnitOfWork
    settings: Settings
    who: Principal | None = None


@dataclass(frozen=True)
class SignedIn(Context):
    """The context of a use case only a signed-in caller reaches (its route requires a token)."""

    who: Principal


def context_for(uow: UnitOfWork, settings: Settings, who: Principal | None = None) -> Context:
    """SignedIn when someone is, else Context."""
    return Context(uow, settings) if who is None else SignedIn(uow, settings, who)
