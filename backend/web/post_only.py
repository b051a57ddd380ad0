"""A form's address asked for with GET lands on the page that holds the form, never on a bare
"Method not allowed".

Every action of the pages is a POST to an address of its own (`/retention/holds/place/`,
`/access/<id>/approve/`, `/corrections/subjects/<id>/contacts/` …) answered with a redirect
(POST-redirect-GET) or, when the form is wrong, with the form page re-rendered at that
address. A browser then reaches that address with GET in ordinary ways: reloading the
re-rendered form and declining to resend, the back and forward buttons, a bookmarked or
pasted link, a tab restored after a restart. The view answers 405; this middleware turns that
405 into a redirect to the page holding the form — a known form page at another address
(FORM_PAGES: `/coverage/activities/<id>/recheck/` → `/activities/<id>/`), else the nearest
shorter path that is a page (`/retention/holds/place/` → `/retention/holds/`,
`/access/<id>/approve/` → `/access/<id>/`, at worst the dashboard) — with a note saying why.

The JSON API (`/api/…`) keeps its 405 in the one error shape: a client there sent the wrong
method and should be told so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib import messages
from django.contrib.messages.storage.base import BaseStorage
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

KEEP_405 = ("/api/",)
# Actions whose form sits on a page at another address: (pattern, that page).
FORM_PAGES = (
    (re.compile(r"^/coverage/activities/([^/]+)/.*$"), r"/activities/\1/"),  # links, explain
    (re.compile(r"^/retention/marks/.*$"), "/retention/holds/"),  # marks sit beside holds
    (re.compile(r"^/grants/[^/]+/.*$"), "/access/"),  # grants are listed with their requests
)


def enclosing_page(path: str) -> str:
    """The page holding the form posted to `path`: a known form page, else the nearest
    shorter path that resolves to a view (at worst the dashboard, "/")."""
    for pattern, page in FORM_PAGES:
        if pattern.match(path):
            return pattern.sub(page, path)
    parts = [part for part in path.split("/") if part]
    while parts:
        parts.pop()
        candidate = "/" + "".join(part + "/" for part in parts)
        try:
            resolve(candidate)
        except Resolver404:
            continue
        return candidate
    return "/"


class PostOnlyRedirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or request.method not in ("GET", "HEAD")
            or request.path_info.startswith(KEEP_405)
        ):
            return response
        note = _("该地址只用于提交表单，已转到所在页面。")
        storage = messages.get_messages(request)
        queued = [str(message) for message in storage]
        if isinstance(storage, BaseStorage):
            storage.used = False  # reading the queue must not empty it
        if note not in queued:
            messages.info(request, note)
        target = enclosing_page(request.path_info)
        return HttpResponseRedirect(request.META.get("SCRIPT_NAME", "") + target)
