"""Who is asking, what they may do, and who they mean.

Roles: `admin` or `member`. Admins assign and change any task; members update the tasks they own and
assign only to themselves. The first person of a workspace and those configured (`Context.admins`, env
COMPLYBOT_ADMINS: user ids or emails) are admins; `admin add <person>` adds one.

External users (`Message.external`: a person of another organisation in a Slack Connect channel, or of
another tenant) are nobody here: they may ask questions about the frameworks (the knowledge base is
public knowledge) and read `help`, and every command is refused before they are registered, so they
never become a person, an owner or an admin of the workspace, and nothing they send changes anything.

A handler refuses by raising `Refusal`: the router rolls the transaction back and answers privately,
so a refused command changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from handlers.dates import today_in
from handlers.ports import Context
from handlers.types import Command, Message, Reply

_MENTION = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>")


class Refusal(Exception):
    """A command that cannot be done as asked; str() is the polite reason shown to the person.
    `actions` offer the likely next step (e.g. the controls a reference covers); `field` names what is
    refused ("control", "person", "date", "task"), so a form shows it under that input."""

    def __init__(self, message: str, actions: tuple = (), kind: str = "refused", field: str = ""):
        super().__init__(message)
        self.actions = actions
        self.kind = kind
        self.field = field

    def reply(self) -> Reply:
        return Reply(str(self), actions=tuple(self.actions), ephemeral=True, kind=self.kind, outcome="refused",
                     field=self.field)


@dataclass(frozen=True)
class Request:
    """One command being handled: the message, the runtime, and the person who sent it."""

    message: Message
    ctx: Context
    actor: object  # bot.store.Person

    @property
    def workspace(self) -> str:
        return self.message.workspace

    @property
    def store(self):
        return self.ctx.store

    @property
    def today(self) -> date:
        return today_in(self.actor.tz, self.ctx.clock.now())

    @property
    def is_admin(self) -> bool:
        return is_admin(self.ctx, self.actor)


def is_admin(ctx: Context, person) -> bool:
    configured = {a.strip().casefold() for a in ctx.admins if a.strip()}
    return person.role == "admin" or person.user_id.casefold() in configured or (
        bool(person.email) and person.email.casefold() in configured)


EXTERNAL_REFUSAL = ("You are not a member of this workspace, so I can't show or change its compliance programme. "
                    "I'm happy to answer questions about SOC 2 and ISO 27001, e.g. `what is CC6.1?`.")


def actor_for(message: Message, ctx: Context):
    """The sender as a person of the message's workspace, registered on first contact; a person of
    another organisation is refused here, before anything is written (every command passes here)."""
    if message.external:
        raise Refusal(EXTERNAL_REFUSAL, kind="external")
    return ctx.store.upsert_person(message.workspace, message.user, name=message.user_name,
                                   platform=message.platform)


def label(store, workspace: str, user_id: str) -> str:
    """@name of a person of this workspace (the id when unknown)."""
    person = store.person(workspace, user_id)
    return person.label if person else f"@{user_id}"


def resolve_person(req: Request, token: str):
    """The person of this workspace that `token` names: `<@U123>`, `@name`, a name, an email or `me`.
    Nobody of another workspace is ever found."""
    token = token.strip()
    if token.casefold() in ("me", "myself", "@me"):
        return req.actor
    mention = _MENTION.fullmatch(token)
    if mention:
        found = req.store.person(req.workspace, mention[1])
        candidates = [found] if found else []
    else:
        candidates = req.store.find_people(req.workspace, token)
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(f"{p.label} ({p.email or p.user_id})" for p in candidates)
        raise Refusal(f"Several people match {token}: {names}. Please mention the one you mean.", field="person")
    if req.ctx.resolve_user is not None:
        found = req.ctx.resolve_user(req.workspace, token)
        if found is not None:
            return found
    raise Refusal(f"I don't know {_shown(token)} in this workspace. Mention them (@name) so I can find them.",
                  kind="unknown_person", field="person")


def _shown(token: str) -> str:
    return token if token.startswith(("@", "<@")) else f"@{token}"


def require_admin(req: Request, doing: str) -> None:
    if not req.is_admin:
        raise Refusal(f"Only an admin can {doing}. Ask an admin, or see `help`.", kind="forbidden")


def require_owner_or_admin(req: Request, task) -> None:
    if task.owner != req.actor.user_id and not req.is_admin:
        owner = label(req.store, req.workspace, task.owner)
        raise Refusal(f"Task {task.id} ({task.control}) belongs to {owner}. Members can change only their own "
                      "tasks; ask its owner or an admin.", kind="forbidden")


def admin_add(req: Request, args: str) -> Reply:
    """`admin add <person>`."""
    match = re.fullmatch(r"add\s+(.+)", args.strip(), re.IGNORECASE)
    if not match:
        raise Refusal("Usage: `admin add @person`.", kind="usage")
    require_admin(req, "add admins")
    person = resolve_person(req, match[1])
    if person.role == "admin":
        return Reply(f"{person.label} is already an admin.", kind="admin")
    req.store.set_role(req.workspace, person.user_id, "admin", actor=req.actor.user_id)
    return Reply(f"{person.label} is now an admin of this workspace.", kind="admin")


def _is_admin_add(args: str) -> bool:
    """`admin add @x` ("admin access control" is a question about a control)."""
    return not args or args.split()[0].casefold() == "add"


COMMANDS = (
    Command("admin", "admin add @person", "make someone an admin (admins)", admin_add, needs_args=True,
            accepts=_is_admin_add),
)
