"""Django in-process for benchmarking: a fresh throw-away database, a verified user, a timer.

`Harness.start()` sets the environment the settings module reads and only then calls
`django.setup()`, so start it before anything reads settings or imports the project's models.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:  # imported for real only after django.setup()
    from django.test import Client

    from accounts.models import AuthenticatorApp, User

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

# One run of the timed operation; its return value is ignored.
Operation = Callable[[], object]


@dataclass(frozen=True)
class Benchmark:
    """One row of the table.

    `prepare` is a context manager factory: it does the setup for this benchmark (tables, rows,
    clients, settings overrides), yields the operation to time, and tears down on exit.
    `baseline` names the row whose throughput this row is compared with; a baseline names itself.
    """

    name: str
    baseline: str
    prepare: Callable[[Harness], contextlib.AbstractContextManager[Operation]]
    runs: int | None = None  # overrides --runs for an operation too slow to repeat 300 times
    warmup: int | None = None
    vendors: tuple[str, ...] = ("sqlite", "postgresql")  # the databases it runs on


@dataclass(frozen=True)
class Timings:
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p90(self) -> float:
        if len(self.seconds) < 2:
            return self.seconds[0]
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[-1]


def time_operation(operation: Operation, *, runs: int, warmup: int) -> Timings:
    """Run `operation` `warmup` times untimed, then `runs` times, timing each run on its own."""
    for _ in range(warmup):
        operation()
    gc.collect()  # start the timed runs without garbage left over from setup and warm-up
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        operation()
        seconds.append(time.perf_counter() - start)
    return Timings(seconds)


def time_interleaved(
    baseline: Operation, operation: Operation, *, runs: int, warmup: int, rounds: int = 10
) -> tuple[Timings, Timings]:
    """Time `operation` and its `baseline` in alternating blocks (A B, B A, A B, ...), `runs` times
    each in all, after `warmup` untimed runs of each. Within a block an operation runs back to back,
    as it would under load; across the blocks both see the same machine (other load, CPU
    frequency, disk), so their ratio does not drift with it. Returns (baseline, operation)."""
    for _ in range(warmup):
        baseline()
    for _ in range(warmup):
        operation()
    gc.collect()
    rounds = max(1, min(rounds, runs))
    baseline_seconds: list[float] = []
    operation_seconds: list[float] = []
    for turn in range(rounds):
        block = runs // rounds + (1 if turn < runs % rounds else 0)
        pair = [(baseline, baseline_seconds), (operation, operation_seconds)]
        for run, seconds in pair if turn % 2 == 0 else reversed(pair):
            for _ in range(block):
                start = time.perf_counter()
                run()
                seconds.append(time.perf_counter() - start)
    return Timings(baseline_seconds), Timings(operation_seconds)


@dataclass(frozen=True)
class Harness:
    """The running Django set-up. Create it with `Harness.start(...)` (a context manager)."""

    database_vendor: str
    database_url: str
    user: User  # a coordinator: a role that needs a verified second factor
    device: AuthenticatorApp  # the user's confirmed TOTP device

    @classmethod
    @contextlib.contextmanager
    def start(cls, database_url: str | None = None) -> Iterator[Harness]:
        """Set up Django on a fresh database (temporary SQLite file, or a dedicated PostgreSQL
        database on the server `database_url` points at) and remove that database afterwards.

        Once per process: Django reads its settings only once.
        """
        from django.conf import settings

        if settings.configured:
            raise RuntimeError("Django is already set up in this process; start the harness once, first")
        with tempfile.TemporaryDirectory(prefix="weerbaar-bench-") as tmp:
            tmp_dir = Path(tmp)
            with contextlib.ExitStack() as cleanup:
                if database_url:
                    url = cleanup.enter_context(_postgresql_database(database_url))
                    vendor = "postgresql"
                else:
                    # The same options as the embedded default in config/settings.py.
                    from config.embedded import SQLITE_OPTIONS

                    url = f"sqlite:///{tmp_dir / 'bench.sqlite3'}?{urlencode(SQLITE_OPTIONS)}"
                    vendor = "sqlite"
                _configure_environment(url, tmp_dir / "var")

                import django

                django.setup()
                cleanup.callback(_close_connections)

                from django.core.management import call_command

                call_command("migrate", verbosity=0, interactive=False)
                user, device = _create_verified_user()
                yield cls(database_vendor=vendor, database_url=url, user=user, device=device)

    def verified_client(self, *, enforce_csrf_checks: bool = True) -> Client:
        """A django.test.Client logged in as `user`, its session verified by the TOTP device
        (as tests/conftest.py `verified_client` does)."""
        from django.test import Client
        from django_otp import DEVICE_ID_SESSION_KEY

        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        client.force_login(self.user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = self.device.persistent_id
        session.save()
        return client


def _create_verified_user() -> tuple[User, AuthenticatorApp]:
    from django.test.utils import override_settings

    from accounts.models import AuthenticatorApp, Organisation, Region, User
    from accounts.roles import OrganisationKind, Role, role_requires_two_factor

    if not role_requires_two_factor(Role.COORDINATOR):
        raise RuntimeError("the bench user's role must be one the 2FA middleware checks")
    region = Region.objects.create(name="RIEC Bench")
    organisation = Organisation.objects.create(name="Gemeente Bench", kind=OrganisationKind.MUNICIPALITY, region=region)
    # The production hasher (Argon2) is slow on purpose; setup hashes one password, fast.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        user = User.objects.create_user(
            username="bench-coordinator",
            password="bench-password-not-secret",
            organisation=organisation,
            role=Role.COORDINATOR,
        )
    device = AuthenticatorApp.objects.create(user=user, name="authenticator-app", confirmed=True)
    return user, device


def _configure_environment(database_url: str, var_dir: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    # The test settings: the product plus the example aggregate (tests/example) that exercises the
    # privacy and audit core until the modules have aggregates of their own.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    # The embedded set-up; production settings would demand every secret and service address.
    os.environ["DJANGO_ENV"] = "development"
    os.environ["DATABASE_URL"] = database_url
    os.environ["WEERBAAR_VAR_DIR"] = str(var_dir)  # a throw-away secret key, nothing written to var/
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    # DEBUG keeps every query in memory, which would be measured too.
    os.environ["DJANGO_DEBUG"] = "false"


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


@contextlib.contextmanager
def _postgresql_database(server_url: str) -> Iterator[str]:
    """Create a dedicated database on the server of `server_url`, yield its URL, drop it after.

    The name carries the process id, so two runs against one server do not drop each other's
    database.
    """
    import psycopg
    from psycopg import sql

    parts = urlsplit(server_url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"--database-url must be a PostgreSQL URL (postgres://...), not {parts.scheme}://")
    name = f"weerbaar_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
