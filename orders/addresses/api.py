"""The signed-in caller's saved addresses as JSON: list, add, change, make default, delete.

Another shopper's address is answered 404, as one that does not exist.
"""

from django.core.validators import RegexValidator
from django.db import models
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.api_errors import ErrorSerializer
from orders.addresses.selectors import saved_address_for_user, saved_addresses_for_user
from orders.addresses.services import (
    AddressError,
    saved_address_create,
    saved_address_delete,
    saved_address_set_default,
    saved_address_update,
)
from orders.forms import SHIPPING_COUNTRIES, SHIPPING_COUNTRY_REFUSED
from orders.models import SavedAddress

DUPLICATE = OpenApiResponse(ErrorSerializer, description="`duplicate_address`: the caller has saved this address already.")
NOT_YOURS = OpenApiResponse(ErrorSerializer, description="`not_found`: no saved address with that id is the caller's.")


# The schema says string and boolean: DRF's own fields also take 0 for "0", 0 for false, "yes"...
class JSONCharField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # DRF refuses NUL characters anyway; the pattern says so in the schema. `+`, not `*`: a
        # blank value is the schema's other branch (maxLength 0), and oneOf wants exactly one.
        self.validators.append(RegexValidator(r"^[^\x00]+$", message="Null characters are not allowed."))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JSONBooleanField(serializers.BooleanField):

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SavedAddressSerializer(serializers.ModelSerializer):
    country = serializers.ChoiceField(
        choices=SHIPPING_COUNTRIES,
        error_messages={"invalid_choice": SHIPPING_COUNTRY_REFUSED},
        help_text="ISO 3166-1 alpha-2 code of a country the shop ships to, e.g. `IE`.",
    )
    is_default = JSONBooleanField(
        required=False,
        help_text="Checkout starts from the default address. Send `true` to make this one the default; "
        "the first address saved is the default.",
    )

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, models.CharField: JSONCharField}

    class Meta:
        model = SavedAddress
        fields = ["id", "name", "line1", "line2", "city", "postal_code", "country", "is_default", "last_used_at"]
        read_only_fields = ["id", "last_used_at"]
        extra_kwargs = {"line2": {"default": ""}, "last_used_at": {"help_text": "When an order last went here, or it was saved."}}


def _address_fields(data: dict) -> dict:
    return {name: value for name, value in data.items() if name in SavedAddress.ADDRESS_FIELDS}


def _not_found(exc: AddressError | None = None) -> NotFound:
    return NotFound(exc.message if exc else "No saved address with that id is yours.")


@extend_schema_view(
    get=extend_schema(
        tags=["addresses"],
        summary="The caller's saved addresses, the default first",
        operation_id="addresses_list",
        responses=SavedAddressSerializer(many=True),
    ),
    post=extend_schema(
        tags=["addresses"],
        summary="Save an address",
        description="Addresses are also saved when a signed-in shopper places an order.",
        responses={201: SavedAddressSerializer, 409: DUPLICATE},
    ),
)
class AddressListView(APIView):
    permission_classes = [IsAuthenticated]
    serializer_class = SavedAddressSerializer

    def get(self, request):
        return Response(SavedAddressSerializer(saved_addresses_for_user(request.user), many=True).data)

    def post(self, request):
        details = SavedAddressSerializer(data=request.data)
        details.is_valid(raise_exception=True)
        address = saved_address_create(
            user=request.user,
            make_default=details.validated_data.get("is_default", False),
            **_address_fields(details.validated_data),
        )
        return Response(SavedAddressSerializer(address).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(tags=["addresses"], summary="One saved address", responses={200: SavedAddressSerializer, 404: NOT_YOURS}),
    patch=extend_schema(
        tags=["addresses"],
        summary="Change a saved address, or make it the default",
        description="Orders already placed keep the address they were placed with. `is_default: false` is "
        "ignored: make another address the default instead.",
        responses={200: SavedAddressSerializer, 404: NOT_YOURS, 409: DUPLICATE},
    ),
    delete=extend_schema(
        tags=["addresses"],
        summary="Delete a saved address",
        description="If it was the default, the most recently used address becomes the default.",
        responses={204: None, 404: NOT_YOURS},
    ),
)
class AddressDetailView(APIView):
    permission_classes = [IsAuthenticated]
    serializer_class = SavedAddressSerializer

    def _address(self, request, address_id: int) -> SavedAddress:
        address = saved_address_for_user(user=request.user, address_id=address_id)
        if address is None:
            raise _not_found()
        return address

    def get(self, request, address_id: int):
        return Response(SavedAddressSerializer(self._address(request, address_id)).data)

    def patch(self, request, address_id: int):
        address = self._address(request, address_id)
        change = SavedAddressSerializer(address, data=request.data, partial=True)
        change.is_valid(raise_exception=True)
        try:
            fields = _address_fields(change.validated_data)
            if fields:
                address = saved_address_update(user=request.user, address_id=address.pk, **fields)
            if change.validated_data.get("is_default"):
                address = saved_address_set_default(user=request.user, address_id=address.pk)
        except AddressError as exc:
            if exc.code == "address_not_found":
                raise _not_found(exc) from exc
            raise
        return Response(SavedAddressSerializer(address).data)

    def delete(self, request, address_id: int):
        try:
            saved_address_delete(user=request.user, address_id=self._address(request, address_id).pk)
        except AddressError as exc:
            raise _not_found(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
