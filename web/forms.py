"""The portal's forms (Flask-WTF: each carries a CSRF token)."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from reports.services.delivery import LIST_AUDIENCES
from reports.services.users import MIN_PASSWORD
from reports.store.accounts import ROLES


class LoginForm(FlaskForm):
    name = StringField("User name", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class UploadForm(FlaskForm):
    file = FileField("Schedule (an xlsx, xlsm or csv file)",
                     validators=[FileRequired("Choose a file to upload.")])
    dataset = SelectField("Existing dataset", choices=[], validate_choice=False)
    new_dataset = StringField("Or a new dataset name", validators=[Optional(), Length(max=200)])
    as_of = DateField("As-of date (the date the proposals stand at)", default=date.today,
                      validators=[DataRequired("Give the as-of date as YYYY-MM-DD.")])
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=2000)])


class UserForm(FlaskForm):
    name = StringField("User name", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=list(ROLES))
    password = PasswordField(f"Password (at least {MIN_PASSWORD} characters; not a common "
                             f"password, a repetition or sequence, or the user name)",
                             validators=[DataRequired(), Length(min=MIN_PASSWORD, max=1024)])


class DeliveryForm(FlaskForm):
    dataset = SelectField("Dataset", choices=[], validate_choice=False)
    audience = SelectField("Audience (union recipients also get the public briefing)",
                           choices=list(LIST_AUDIENCES))
    address = StringField("E-mail address", validators=[DataRequired(), Length(max=320)])
