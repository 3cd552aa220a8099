"""What every use case needs: the metastore, the settings, the clock and the wake-up signal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tradewind.core.clock import utcnow
from tradewind.metastore.database import Database
from tradewind.settings import Settings, load_settings


@dataclass
class Env:
    """The services' environment, built once at process entry and passed down."""

    settings: Settings
    db: Database
    clock: Callable[[], datetime] = utcnow
    #: ``wake(kind="w")``: poke the schedulers (kinds in ``services/wakeup.py``).
    wake: Callable[..., None] = field(default=lambda *_: None)

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        """Close every pooled connection (at the end of a CLI command)."""
        self.db.engine.dispose()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: object) -> Env:
        settings = settings or load_settings()
        db = Database(
            settings.sql_alchemy_conn,
            pool_size=int(settings.get("database", "sql_alchemy_pool_size")),
        )
        from tradewind.services.wakeup import wake_function

        env = cls(settings=settings, db=db, **kwargs)  # type: ignore[arg-type]
        if "wake" not in kwargs:
            env.wake = wake_function(settings, db)
        return env

    @property
    def secret_key(self) -> str:
        from tradewind.services.install import secret_key

        return secret_key(self.settings)
