"""Writes of the accounts app."""

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from .models import Role, User


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> User:
    """Create a user with the `user` role after Django's password validators accept the password."""
    user = User(username=username, email=email.lower(), role=Role.USER)
    validate_password(password, user=user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user
