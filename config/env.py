"""Reading settings from the environment, with one clear message when a value is missing or wrong."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if required:
        raise ImproperlyConfigured(
            f"De instelling {name} ontbreekt. Zet de omgevingsvariabele {name} (zie .env.example)."
        )
    return default or ""


def env_require(names: tuple[str, ...]) -> None:
    """Refuses to start when any of `names` is missing, naming them all at once: an operator
    setting up a server fixes the environment in one go, not one restart per variable."""
    missing = [name for name in names if not os.environ.get(name, "").strip()]
    if len(missing) == 1:
        env_str(missing[0], required=True)
    if missing:
        raise ImproperlyConfigured(
            f"De instellingen {', '.join(missing[:-1])} en {missing[-1]} ontbreken. "
            "Zet die omgevingsvariabelen (zie .env.example)."
        )


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on", "ja"}:
        return True
    if value in {"0", "false", "no", "off", "nee"}:
        return False
    raise ImproperlyConfigured(f"De instelling {name} moet 'true' of 'false' zijn, niet {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"De instelling {name} moet een geheel getal zijn, niet {value!r}.") from None


def env_list(name: str, default: list[str] | None = None, *, required: bool = False) -> list[str]:
    raw = env_str(name, required=required)
    if not raw:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]
