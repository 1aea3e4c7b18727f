"""Money as an integer of minor units with an ISO 4217 currency; Decimal only for display."""

from decimal import Decimal

from kernel import l10n

# Minor units per currency where they are not cents (the Tunisian dinar has 1000 millimes).
CURRENCY_EXPONENTS = {"TND": 3, "JPY": 0}


def money(amount_minor: int, currency: str) -> dict:
    """The wire shape of an amount, in the database, the API and the cache."""
    return {"amount_minor": amount_minor, "currency": currency}


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS.get(currency, 2))


def format_money(amount_minor: int, currency: str, language: str | None = None) -> str:
    """An amount as the active language (or `language`) writes it: €123.50, 123,50 €; taken off: −€12.00."""
    return l10n.money(to_decimal(amount_minor, currency), currency, language)


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount typed as a decimal (12.50) in minor units (1250); ValueError if finer than the currency's unit."""
    minor = amount.scaleb(CURRENCY_EXPONENTS.get(currency, 2))
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than the currency's smallest unit")
    return int(minor)
