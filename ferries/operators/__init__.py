"""Operator adapters: `adapter_for(operator)` answers the right one for an operator."""

from django.conf import settings

from ferries.errors import OperatorError, OperatorRefused, OperatorTimeout
from ferries.operators.base import Hold, Offer, OperatorAdapter
from ferries.operators.http import HttpOperator
from ferries.operators.local import LocalInventoryOperator

__all__ = ["Hold", "Offer", "OperatorAdapter", "OperatorError", "OperatorRefused", "OperatorTimeout", "adapter_for"]


def adapter_for(operator) -> OperatorAdapter:
    """OPERATOR_API_URLS overrides an operator's integration (to use a sandbox or the simulator)."""
    url = settings.OPERATOR_API_URLS.get(operator.code)
    if url:
        return HttpOperator(operator, base_url=url)
    if operator.integration == operator.Integration.HTTP:
        return HttpOperator(operator, base_url=operator.api_url)
    return LocalInventoryOperator(operator)
