"""Form fields shared by every feature."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.widgets import DateInput


class LocalDateField(StringField):
    """<input type=date>; a Vietnamese message for anything that isn't YYYY-MM-DD."""

    widget = DateInput()

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            self.data = datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            raise ValueError(_l("Ngày không hợp lệ.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""
