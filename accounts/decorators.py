from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from accounts.roles import Action, user_can


def require_action(action: Action):
    """Login required, then the role must allow `action` (else 403)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not user_can(request.user, action):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_action = action
        return wrapped

    return decorator
