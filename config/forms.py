"""Form fields every module uses."""

from __future__ import annotations

from django import forms


class TextareaField(forms.CharField):
    """Text typed in a textarea: each line break counts as one character, as the browser counts
    it for the textarea's maxlength (it sends CR LF), so a text the page accepted is not refused
    as too long."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value
