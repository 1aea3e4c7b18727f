"""What tests read of the site's pages, as a browser would send them back."""

import re
from html import unescape


def admin_form_data(page) -> dict:
    """The fields of the admin's change form as it would send them."""
    html = page.content.decode()
    data = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind.group(1) in ("submit", "button", "file")):
            continue
        if kind and kind.group(1) == "checkbox":
            if "checked" in tag:
                data[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = unescape(value.group(1)) if value else ""
    for select in re.finditer(r'<select([^>]*)name="([^"]+)"([^>]*)>(.*?)</select>', html, re.S):
        chosen = [unescape(value) for value in re.findall(r'<option value="([^"]*)"[^>]*selected', select.group(4))]
        if "multiple" in select.group(1) + select.group(3):
            data[select.group(2)] = chosen  # none chosen: an empty list, as a browser sends nothing
        else:
            data[select.group(2)] = chosen[0] if chosen else ""
    for area in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[area.group(1)] = unescape(area.group(2)).lstrip("\n")
    return data
