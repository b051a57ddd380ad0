"""Reloading after a POST never says "Method not allowed" (issue 16, item 7).

Every page address that takes only a form's POST — found from the authorization matrix, which
names every route of the project (test_every_endpoint_is_in_the_matrix) — is asked for with
GET by the system administrator, one other role in turn and an anonymous visitor, on real
objects (the matrix cells' own paths).
The answer is a redirect to the page that holds the form (backend/web/post_only.py): no 405,
no server error, and for a role that may use the form, that page itself (200, HTML, the note
once). The JSON API keeps its 405 in the one error shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from backend.accounts.models import Role
from backend.web.post_only import enclosing_page
from tests.review.conftest import World
from tests.review.test_authorization_matrix import (
    ANON,
    MATRIX,
    Cell,
    Ctx,
    _client,
    django_routes,
    matrix_world,
)
from tests.review.test_authorization_matrix_apps import APPS_MATRIX
from tests.review.test_authorization_matrix_cases import CASES_MATRIX, cases_world
from tests.review.test_authorization_matrix_publication import PUBLICATION_MATRIX

pytestmark = pytest.mark.django_db

__all__ = ["cases_world", "matrix_world"]  # the fixture, imported for pytest

NOTE = "该地址只用于提交表单，已转到所在页面。"


def post_only_pages() -> dict[str, Cell]:
    """Page routes (not the JSON API) with a POST cell and no GET cell."""
    cells = {**MATRIX, **APPS_MATRIX, **CASES_MATRIX, **PUBLICATION_MATRIX}
    routes = django_routes()
    gets = {key.split(" ", 1)[1] for key in cells if key.startswith("GET ")}
    found = {}
    for key, cell in cells.items():
        method, route = key.split(" ", 1)
        if method == "POST" and route in routes and route not in gets:
            found[route] = cell
    return found


def test_the_post_only_pages_are_found() -> None:
    found = post_only_pages()
    # The known ones are among them (a change in the matrix's keys would empty the walk).
    for route in (
        "/accounts/logout/",
        "/retention/holds/place/",
        "/access/<str:request_id>/approve/",
        "/corrections/subjects/<str:subject_id>/contacts/",
        "/coverage/activities/<str:activity_id>/recheck/",
        "/cases/<uuid:case_id>/<slug:action>/",
    ):
        assert route in found, route
    assert len(found) >= 30, sorted(found)


def _walk(client: Client, path: str) -> tuple[list[tuple[str, int]], Any]:
    response = client.get(path, follow=True)
    return [(url, status) for url, status in response.redirect_chain], response


def test_every_post_only_page_answers_get_with_its_page(cases_world: World) -> None:
    world = cases_world
    failures: list[str] = []
    reached: dict[str, set[str]] = {}
    walked = 0
    roles = list(Role.values)
    for number, (route, cell) in enumerate(sorted(post_only_pages().items())):
        # The system administrator (the widest menu), one more role in turn and an anonymous
        # visitor: every role walks about six of them (all of them × all roles took 48 s).
        for principal in dict.fromkeys((Role.SYSTEM_ADMIN, roles[number % len(roles)], ANON)):
            client, user = _client(world, principal)
            with transaction.atomic():
                point = transaction.savepoint()
                path = cell.path(Ctx(world, "own", principal, user))
                chain, response = _walk(client, path)
                transaction.savepoint_rollback(point)
            walked += 1
            statuses = [status for _url, status in chain] + [response.status_code]
            if 405 in statuses or any(status >= 500 for status in statuses):
                failures.append(f"GET {path} as {principal}: {statuses}")
                continue
            if not chain:
                failures.append(f"GET {path} as {principal}: no redirect ({statuses})")
                continue
            first = chain[0][0]
            if principal != ANON and first != enclosing_page(path):
                failures.append(f"GET {path} as {principal}: sent to {first}")
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                reached.setdefault(route, set()).add(principal)
                # Signing out lands on the sign-in page; Django's set_language redirects on
                # GET by itself (no 405, so no note).
                if principal != ANON and route not in ("/accounts/logout/", "/i18n/setlang/"):
                    assert response.content.decode().count(NOTE) == 1, (path, principal)
    assert not failures, "\n".join(failures)
    # Somebody lands on a page for every route (the logout's is the sign-in page).
    assert set(reached) == set(post_only_pages()), set(post_only_pages()) - set(reached)
    assert walked >= 2 * len(post_only_pages())


def test_reloading_a_re_rendered_form_lands_on_its_page(world: World) -> None:
    """The invalid hold form re-renders at /retention/holds/place/ (the address bar says so);
    opening that address again with GET shows the holds page with the note, once."""
    client = Client()
    client.force_login(world.users[Role.LEGAL_OFFICER])
    invalid = client.post("/retention/holds/place/", {"target_kind": "recording"})
    assert invalid.status_code == 400
    again = client.get("/retention/holds/place/")
    assert again.status_code == 302 and again["Location"] == "/retention/holds/"
    page = client.get("/retention/holds/")
    assert page.status_code == 200
    assert page.content.decode().count(NOTE) == 1
    # English too.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.get("/retention/holds/place/")
    page = client.get("/retention/holds/")
    assert "This address only takes a form" in page.content.decode()


def test_the_api_keeps_its_405() -> None:
    response = Client().get("/api/retention/holds/1/release")
    assert response.status_code == 405


def test_enclosing_page() -> None:
    assert enclosing_page("/retention/holds/place/") == "/retention/holds/"
    assert enclosing_page("/accounts/logout/") == "/"
    assert enclosing_page("/corrections/subjects/7/contacts/") == "/corrections/subjects/7/"
    assert enclosing_page("/coverage/activities/ab-1/links/r-2/remove/") == "/activities/ab-1/"
    assert enclosing_page("/coverage/activities/ab-1/recheck/") == "/activities/ab-1/"
    assert enclosing_page("/retention/marks/3/withdraw/") == "/retention/holds/"
    assert enclosing_page("/grants/g-1/export/") == "/access/"
    assert enclosing_page("/") == "/"
