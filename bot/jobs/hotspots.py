"""Hot spots and mass petitions: leaders hear at once (even at night or on a holiday) when a ticket
has many co-signers (đơn đông người), when several open tickets share a hamlet and category within
a few days, or when a new ticket repeats an open one. Near-duplicates are linked (audited) to the
earliest ticket so officials handle them as one case. `danvan hotspots` prints current clusters.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain

from sqlmodel import Session

from bot.config.settings import Settings
from bot.tickets.recipients import leaders
from bot.jobs.context import OPEN, JobContext
from bot.language.similarity import content_words, hamlet_words, similarity
from bot.tickets.records import record_event
from storage.hotspots import (first_link_of, links_from, open_tickets_received_since, open_tickets_unmarked_since,
                              received_since_fingerprint, tickets_linked_to)
from storage.models import Ticket, TicketLink
from storage.reminders import claim_reminder


@dataclass
class Hotspot:
    """One current cluster: a mass petition, a hamlet+category cluster or a group of near-duplicates."""

    kind: str                     # mass | cluster | duplicates
    hamlet: str
    category: str
    codes: list[str] = field(default_factory=list)
    cosigners: int = 0

    @property
    def size(self) -> int:
        return len(self.codes)


MAX_PER_SCAN = 100


def _window_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def open_recent(session: Session, now: datetime, days: int) -> list:
    """Open tickets received within the last `days` days, oldest first (rows with storage.hotspots.RECENT_COLUMNS)."""
    return open_tickets_received_since(session, _window_start(now, days), open_statuses=OPEN)


def root_of(session: Session, ticket_id: int) -> int:
    """The earliest ticket a ticket is (transitively) linked to."""
    seen = {ticket_id}
    current = ticket_id
    while True:
        link = first_link_of(session, current)
        if link is None or link.linked_to_id in seen:
            return current
        current = link.linked_to_id
        seen.add(current)


def find_hotspots(session: Session, settings: Settings, now: datetime, *, days: int | None = None) -> list[Hotspot]:
    """The current hot spots among open tickets received within `days` (default: window_days)."""
    cfg = settings.hotspots
    days = days or cfg.window_days
    tickets = open_recent(session, now, days)
    by_id = {t.id: t for t in tickets}
    found: list[Hotspot] = []
    for t in tickets:
        if t.cosigners >= cfg.cosigners:
            found.append(Hotspot("mass", t.hamlet, t.category, [t.code], t.cosigners))
    groups: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for t in tickets:
        if t.hamlet:
            groups[(t.hamlet, t.category)].append(t)
    for (hamlet, category), members in groups.items():
        if len(members) >= cfg.cluster_size:
            found.append(Hotspot("cluster", hamlet, category, [m.code for m in members],
                                 sum(m.cosigners for m in members)))
    linked: dict[int, list[Ticket]] = defaultdict(list)
    if by_id:
        links = links_from(session, by_id)
        for link in links:
            root = root_of(session, link.ticket_id)
            linked[root].append(by_id[link.ticket_id])
    for root_id, members in linked.items():
        root = by_id.get(root_id) or session.get(Ticket, root_id)
        if root is None:
            continue
        codes = [root.code] + [m.code for m in sorted(members, key=lambda m: m.id or 0) if m.code != root.code]
        found.append(Hotspot("duplicates", root.hamlet, root.category, codes, 0))
    return found


def _cluster_ref(hamlet: str, category: str) -> str:
    digest = hashlib.sha1(hamlet.encode("utf-8")).hexdigest()[:12]
    return f"{category}:{digest}"


def run_due(ctx: JobContext) -> None:
    """Look at tickets not yet checked; alert leaders at once (quiet hours do not apply)."""
    cfg = ctx.settings.hotspots
    since = _window_start(ctx.now, cfg.window_days)
    # A cheap fingerprint of the window's tickets: unchanged since the last full check = nothing new.
    fingerprint = received_since_fingerprint(ctx.session, since)
    if ctx.memory.get("hotspots") == fingerprint:
        return
    ctx.remember["hotspots"] = fingerprint
    # The window's open tickets without their "seen" mark (a NOT EXISTS probe per ticket).
    unchecked = open_tickets_unmarked_since(ctx.session, since, open_statuses=OPEN, mark_kind="hotspot_seen")
    if not unchecked:
        return
    recent = open_recent(ctx.session, ctx.now, cfg.window_days)
    fresh = [t for t in recent if t.id in unchecked]
    if not fresh:
        return
    if len(fresh) > MAX_PER_SCAN:
        # A backlog (first start on an old database): a slice per scan keeps the write lock short.
        fresh = fresh[:MAX_PER_SCAN]
        ctx.remember.pop("hotspots", None)
    ignore = hamlet_words(ctx.settings.hamlets)
    # Only tickets a fresh one may match need their words: _best_match never pairs two different
    # hamlets, so with a busy window most of it is left out.
    hamlets = {t.hamlet for t in fresh}
    comparable = [t for t in recent if "" in hamlets or not t.hamlet or t.hamlet in hamlets]
    # Descriptions never change: the process keeps each ticket's words between scans.
    cache = ctx.memory.setdefault("hotspot_words", {})
    words = {}
    for t in comparable:
        if t.id not in cache:
            cache[t.id] = content_words(t.description, ignore=ignore)
        words[t.id] = cache[t.id]
    if len(cache) > 20 * max(1, len(recent)):
        cache.clear()
    index: dict[str, list[int]] = defaultdict(list)
    by_id = {t.id: t for t in comparable}
    hamlet_of = {t.id: t.hamlet for t in comparable}
    for t in comparable:
        for word in words[t.id]:
            index[word].append(t.id)
    to_leaders = leaders(ctx.session, ctx.settings)
    recent_by_id = {t.id: t for t in recent}
    same_place: dict[tuple[str, str], list] = defaultdict(list)      # oldest first, as `recent`
    for t in recent:
        same_place[(t.hamlet, t.category)].append(t)
    for ticket in fresh:
        if not claim_reminder(ctx.session, kind="hotspot_seen", ref=str(ticket.id), period="-", now=ctx.now,
                              ticket_id=ticket.id):
            continue
        category = ctx.settings.category(ticket.category).name
        # A ticket first seen long after it arrived (the feature was just switched on, or a long
        # outage) is linked and counted, but no longer worth an "immediate" alert.
        alert = ticket.received_at >= ctx.now - timedelta(hours=cfg.alert_max_age_hours)
        if alert and ticket.cosigners >= cfg.cosigners:
            ctx.send(to_leaders, ctx.texts.render("leader/hotspot_mass", t=ticket, category=category),
                     ticket_code=ticket.code)
        match = _best_match(ticket, _candidates(ticket, words, index, by_id, hamlet_of), words, cfg.similarity)
        if match is not None:
            earlier, score = match
            root_id = root_of(ctx.session, earlier.id)
            root = ctx.session.get(Ticket, root_id) or earlier
            ctx.session.add(TicketLink(ticket_id=ticket.id, linked_to_id=root.id, score=score, created_at=ctx.now))
            record_event(ctx.session, ticket, actor="system:hotspots", action="linked_duplicate", now=ctx.now,
                         note=f"near_duplicate_of={root.code} score={score}")
            ctx.session.flush()
            linked_ids = tickets_linked_to(ctx.session, root.id)
            group = [root.code] + sorted({recent_by_id[i].code for i in linked_ids if i in recent_by_id}
                                         | {ticket.code})
            if alert:
                ctx.send(to_leaders, ctx.texts.render("leader/hotspot_duplicate", t=ticket, root=root, score=score,
                                                      category=category, codes=group), ticket_code=ticket.code)
        if ticket.hamlet:
            members = [t for t in same_place[(ticket.hamlet, ticket.category)] if t.id <= ticket.id]
            if alert and len(members) >= cfg.cluster_size and claim_reminder(
                    ctx.session, kind="hotspot_cluster", ref=_cluster_ref(ticket.hamlet, ticket.category),
                    period=str(members[0].id), now=ctx.now):
                ctx.send(to_leaders, ctx.texts.render("leader/hotspot_cluster", hamlet=ticket.hamlet,
                                                      category=category, tickets=members, days=cfg.window_days))


def _candidates(ticket: Ticket, words: dict, index: dict[str, list[int]], by_id: dict[int, Ticket],
                hamlet_of: dict[int, str]) -> list[Ticket]:
    """Earlier tickets sharing at least two exact content words (the rest cannot score), leaving out
    those of another hamlet, which _best_match never pairs (checked on a plain dict here: reading
    the hamlet off thousands of result rows per new ticket was most of a hot-spot check)."""
    # Counted in C (Counter over the chained id lists): a busy window has long lists per word.
    shared = Counter(chain.from_iterable(index.get(word, ()) for word in words[ticket.id]))
    mine = ticket.hamlet
    return [by_id[i] for i in sorted(i for i, n in shared.items() if n >= 2 and i < ticket.id
                                     and (not mine or not hamlet_of[i] or hamlet_of[i] == mine))]


def _best_match(ticket: Ticket, earlier: list[Ticket], words: dict, threshold: int) -> tuple[Ticket, int] | None:
    """The most similar earlier open ticket at or above the threshold (ties: the earliest)."""
    best: tuple[Ticket, int] | None = None
    mine = words[ticket.id]
    near_mine: dict[str, bool] = {}
    for other in earlier:
        if ticket.hamlet and other.hamlet and ticket.hamlet != other.hamlet:
            continue
        score = similarity(mine, words[other.id], near_a=near_mine)
        if score >= threshold and (best is None or score > best[1]):
            best = (other, score)
    return best
