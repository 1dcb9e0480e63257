from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.api_auth import require_action
from accounts.models import Organisation, User
from accounts.roles import PERMISSIONS, Action


class OrganisationSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.name")
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "kind_label", "partner_type", "region"]


class UserSerializer(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display")
    has_two_factor = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "role_label",
            "is_active",
            "has_two_factor",
        ]


class MeSerializer(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display")
    organisation = OrganisationSerializer()
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "role", "role_label", "organisation", "permissions"]

    def get_permissions(self, user) -> list[str]:
        return sorted(action.value for action in PERMISSIONS.get(user.role, ()))


class MeView(APIView):
    """The logged-in user, their organisation and what their role allows."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = User.objects.select_related("organisation__region").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Accounts of the caller's own organisation (administrators only)."""

    serializer_class = UserSerializer
    queryset = User.objects.none()  # for the schema; requests go through get_queryset
    lookup_value_converter = "int"
    permission_classes = [require_action(Action.MANAGE_USERS)]

    def get_queryset(self):
        return selectors.user_list(actor=self.request.user)
