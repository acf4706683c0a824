"""Every form speaks the site's language, WTForms' own messages included (core/forms.py)."""

from __future__ import annotations

from pathlib import Path

import wtforms
from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange

from marketplace.core.forms import WTFORMS_MESSAGES, SiteForm, SiteMeta


def _subclasses(base: type) -> list[type]:
    found, todo = [], [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [cls for cls in found if cls.__module__.startswith("marketplace.")]


def test_every_form_of_the_site_uses_the_site_messages(app):
    flask_forms = _subclasses(FlaskForm)
    assert len(flask_forms) > 40  # the app's forms are imported by create_app
    assert [cls.__name__ for cls in flask_forms if not issubclass(cls, SiteForm)] == []
    plain = [cls for cls in _subclasses(wtforms.Form) if not issubclass(cls, FlaskForm)]
    assert plain, "the GET filters are plain wtforms forms"
    for cls in plain:
        assert any(issubclass(vars(k).get("Meta", object), SiteMeta) for k in cls.__mro__), cls.__name__


def test_every_wtforms_message_has_ours():
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    with pot.open("rb") as handle:
        catalog = read_po(handle)
    ids = set()
    for message in catalog:
        if message.id:
            ids.update(message.id if isinstance(message.id, tuple) else (message.id,))
    assert sorted(ids - set(WTFORMS_MESSAGES)) == []


class _Probe(SiteForm):
    name = wtforms.StringField(validators=[Length(max=5)])
    count = wtforms.IntegerField(validators=[NumberRange(1, 9)])
    kind = wtforms.SelectField(choices=[SelectChoice("a", "A")])


def test_messages_in_vietnamese_and_english(app):
    data = {"name": "quá dài rồi", "count": "mười", "kind": "z"}
    with app.test_request_context("/", method="POST", data=data):
        form = _Probe()
        assert not form.validate()
        assert form.name.errors == ["Tối đa 5 ký tự."]
        assert form.count.errors[0] == "Vui lòng nhập một số nguyên."
        assert form.kind.errors == ["Lựa chọn không hợp lệ."]
    with app.test_request_context("/", method="POST", data={**data, "count": "42"}), force_locale("en"):
        form = _Probe()
        assert not form.validate()
        assert form.name.errors == ["At most 5 characters."]
        assert form.count.errors == ["The number must be between 1 and 9."]
        assert form.kind.errors == ["Invalid choice."]
