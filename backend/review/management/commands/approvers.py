"""Name or withdraw access-request approvers and destruction leaders (as on /approvers/).

    python manage.py approvers list [--json]
    python manage.py approvers access USERNAME --authority bureau_head|office_head --unit UNIT
    python manage.py approvers access-withdraw APPROVER_ID
    python manage.py approvers leader USERNAME [--title 分管副局长]
    python manage.py approvers leader-withdraw USERNAME

Every change is made and audited as a system administrator: `--by USERNAME`, else the only
active system administrator.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.models import Role, Unit, User
from backend.config.errors import FieldVaultError
from backend.review import designations
from backend.review.models import ApprovalAuthority


class Command(BaseCommand):
    help = "Name or withdraw access-request approvers and destruction leaders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--by", default="", help="the system administrator acting")
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="who approves what")
        listing.add_argument("--json", action="store_true")
        access = sub.add_parser("access", help="name an access-request approver")
        access.add_argument("username")
        access.add_argument("--authority", required=True, choices=ApprovalAuthority.values)
        access.add_argument("--unit", required=True, help="unit name (covers its sub-units)")
        withdraw = sub.add_parser("access-withdraw", help="withdraw an access-request approver")
        withdraw.add_argument("approver_id", type=int)
        leader = sub.add_parser("leader", help="name a destruction leader (销毁审批领导)")
        leader.add_argument("username")
        leader.add_argument("--title", default="")
        leader_withdraw = sub.add_parser("leader-withdraw", help="withdraw a destruction leader")
        leader_withdraw.add_argument("username")

    def _actor(self, by: str) -> User:
        admins = User.objects.filter(role=Role.SYSTEM_ADMIN, is_active=True)
        if by:
            actor = admins.filter(username=by).first()
            if actor is None:
                raise CommandError(f"--by {by}: no active system administrator of that name")
            return actor
        found = list(admins.order_by("pk")[:2])
        if len(found) != 1:
            raise CommandError("name the acting system administrator with --by USERNAME")
        return found[0]

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                self._list(as_json=options["json"])
                return
            actor = self._actor(options["by"])
            if action == "access":
                unit = Unit.objects.filter(name=options["unit"]).first()
                if unit is None:
                    raise CommandError(f"no unit named {options['unit']!r}")
                approver = designations.access_approver_name(
                    actor=actor,
                    user=designations.user_by_name(options["username"]),
                    authority=options["authority"],
                    unit=unit,
                )
                self.stdout.write(f"approver {approver.pk}: {approver}")
            elif action == "access-withdraw":
                designations.access_approver_withdraw(
                    actor=actor, approver_id=options["approver_id"]
                )
                self.stdout.write(f"approver {options['approver_id']} withdrawn")
            elif action == "leader":
                leader = designations.destruction_leader_name(
                    actor=actor,
                    user=designations.user_by_name(options["username"]),
                    title=options["title"],
                )
                self.stdout.write(f"destruction leader: {leader.user.username} {leader.title}")
            elif action == "leader-withdraw":
                designations.destruction_leader_withdraw(
                    actor=actor, user=designations.user_by_name(options["username"])
                )
                self.stdout.write(f"{options['username']} is no longer a destruction leader")
        except FieldVaultError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc

    def _list(self, *, as_json: bool) -> None:
        found = designations.designations_list()
        approvers: list[dict[str, Any]] = [
            {
                "id": a.pk,
                "username": a.user.username,
                "authority": a.authority,
                "unit": a.unit.name,
            }
            for a in found.approvers
        ]
        leaders = [
            {"username": leader.user.username, "title": leader.title} for leader in found.leaders
        ]
        data = {"access_approvers": approvers, "destruction_leaders": leaders}
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        for a in approvers:
            self.stdout.write(f"access  {a['id']:>4} {a['username']} {a['authority']} {a['unit']}")
        for leader in leaders:
            self.stdout.write(f"leader       {leader['username']} {leader['title']}")
