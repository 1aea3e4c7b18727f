"""What every app's JSON API shares: rule errors answered the DRF way, and how the schema describes them."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings


def api_validation_error(error: DjangoValidationError) -> ValidationError:
    """Services and parsers raise Django's ValidationError; API clients get DRF's 400 {field: [messages]}."""
    if not hasattr(error, "error_dict"):
        return ValidationError({api_settings.NON_FIELD_ERRORS_KEY: error.messages})
    return ValidationError(
        {
            api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
            for field, messages in error.message_dict.items()
        }
    )


VALIDATION_ERROR_RESPONSE = OpenApiResponse(
    response={
        "type": "object",
        "description": "Each field in error (a query parameter or `non_field_errors`) with its messages.",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description="The request was refused; nothing was changed.",
    examples=[OpenApiExample("A date in the past", value={"date": ["This date is in the past."]})],
)
