"""The service tests' storage: the real repositories over the memory driver, and a view of what
it holds in the shapes the tests read (users, jobs, applications… by id)."""

from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.storage.drivers.memory import MemoryItemStore
from chalicelib.storage.entities import APPLICATION, EVENT, HISTORY, JOB, USER
from chalicelib.storage.repositories import UnitOfWork
from chalicelib.storage.stores import Storage


class MemoryStorage:
    """What a database would hold, shared by every unit of work made over it."""

    def __init__(self):
        self.items = MemoryItemStore()
        self.storage = Storage.over(self.items)

    def unit_of_work(self, settings: Settings | None = None) -> UnitOfWork:
        """A unit of work over this memory, with the ports the settings choose (default: no broker)."""
        return bootstrap.unit_of_work(settings or fake_settings(), self.storage)

    def _of_type(self, kind: str) -> list[dict]:
        return [item for item in self.items.items.values() if item.get("type") == kind]

    def _loaded(self, entity) -> dict:
        return {record.id: record for record in map(entity.load, self._of_type(entity.kind))}

    @property
    def users(self) -> dict:
        return self._loaded(USER)

    @property
    def jobs(self) -> dict:
        return self._loaded(JOB)

    @property
    def applications(self) -> dict:
        return self._loaded(APPLICATION)

    @property
    def history(self) -> dict:
        return self._loaded(HISTORY)

    @property
    def outbox(self) -> dict:
        return self._loaded(EVENT)

    @property
    def counters(self) -> dict:
        return {str(item["PK"]).removeprefix("COUNTER#"): item for item in self._of_type("Counter")}

    @property
    def idempotency(self) -> dict:
        return {str(item["PK"]).removeprefix("IDEMPOTENCY#"): item for item in self._of_type("Idempotency")}


def fake_settings(**overrides) -> Settings:
    values = dict(
        stage="test",
        state_dir="/nonexistent",
        storage="memory",
        sqlite_path=":memory:",
        table_name="ats",
        jwt_secret_value="s" * 48,
        jwt_ttl_seconds=3600,
        jwt_issuer="ats",
        redis_url=None,
        email_backend="console",
        email_from="ATS <no-reply@ats.local>",
        allow_recruiter_signup=True,
        password_hash_profile="fast",
    )
    return Settings(**{**values, **overrides})
