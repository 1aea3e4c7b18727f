"""A fare family's rules in the traveller's words: one line for cancelling, one for changing.

Both read the rules as the search answer and a booking leg carry them (`cancellation_policy`, and
`change_policy` in its wire form, amounts as money), so the results page, the booking pages and the
e-mails say the same thing.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kernel.money import format_money


def refund_rule(policy: dict) -> str:
    """{"refund_full_days": 7, "refund_partial_hours": 24, "refund_partial_percent": 50} → "Full refund until 7 days
    before departure, 50 % until 24 hours before, nothing after." """
    days, hours, percent = policy["refund_full_days"], policy["refund_partial_hours"], policy["refund_partial_percent"]
    if days is None and not percent:
        return _("Not refundable.")
    if days is None:
        return _("%(percent)d %% refunded until %(hours)d hours before departure, nothing after.") % {
            "percent": percent,
            "hours": hours,
        }
    full = ngettext(
        "Full refund until %(days)d day before departure",
        "Full refund until %(days)d days before departure",
        days,
    ) % {"days": days}
    if not percent:
        return _("%(full)s, nothing after.") % {"full": full}
    return _("%(full)s, %(percent)d %% until %(hours)d hours before, nothing after.") % {
        "full": full,
        "percent": percent,
        "hours": hours,
    }


def change_rule(policy: dict) -> str:
    """{"allowed": True, "until_hours": 24, "fee_fixed": €0, "fee_percent": 10, "fee_minimum": €15, "max_changes": 2}
    → "Changes until 24 hours before departure, 2 at most; fee 10 % of the leg's price, at least €15.00." """
    if not policy.get("allowed") or not policy.get("max_changes"):
        return _("No changes.")
    changes = ngettext(
        "Changes until %(hours)d hours before departure, %(n)d at most",
        "Changes until %(hours)d hours before departure, %(n)d at most",
        policy["max_changes"],
    ) % {"hours": policy["until_hours"], "n": policy["max_changes"]}
    return _("%(changes)s; %(fee)s.") % {"changes": changes, "fee": change_fee_text(policy)}


def change_fee_text(policy: dict) -> str:
    fixed, percent, minimum = policy["fee_fixed"], policy["fee_percent"], policy["fee_minimum"]
    parts = []
    if fixed["amount_minor"]:
        parts.append(_money(fixed))
    if percent:
        parts.append(_("%(percent)d %% of the leg's price") % {"percent": percent})
    if not parts:
        return _("no fee") if not minimum["amount_minor"] else _("fee %(fee)s") % {"fee": _money(minimum)}
    fee = _("fee %(fee)s") % {"fee": " + ".join(parts)}
    if minimum["amount_minor"]:
        fee = _("%(fee)s, at least %(minimum)s") % {"fee": fee, "minimum": _money(minimum)}
    return fee


def _money(value: dict) -> str:
    return format_money(value["amount_minor"], value["currency"])
