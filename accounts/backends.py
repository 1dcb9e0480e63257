from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class WeerbaarModelBackend(ModelBackend):
    """Django's password backend, loading the user's organisation with the user: every page
    shows it and every query is scoped by it."""

    def get_user(self, user_id):
        user = get_user_model()._default_manager.select_related("organisation").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
