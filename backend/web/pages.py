"""The decorator every HTML page uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from backend.config.errors import FieldVaultError

View = Callable[..., HttpResponseBase]


def page(view: View) -> View:
    """Signed-in users only; service errors render as an error page with their status."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except FieldVaultError as error:
            return render(
                request,
                "review/error.html",
                {"code": error.code, "message": error.message, "details": error.details},
                status=error.status,
            )

    return login_required(wrapper)
