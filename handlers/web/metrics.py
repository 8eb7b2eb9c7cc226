"""Prometheus /metrics: updates received by channel, tickets by state, outbox backlog and failures,
outbox lag, and request latency. Counts come from the database at scrape time, so they survive
restarts and add up across several processes."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timezone

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from storage.engine import read_session
from storage.reports import inbound_by_channel, oldest_pending_outbox, outbox_counts, tickets_by_status


class DatabaseCollector(Collector):
    """Reads the numbers from the database on every scrape."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        with read_session(self.engine) as session:
            inbound = inbound_by_channel(session)
            tickets = tickets_by_status(session)
            outbox = outbox_counts(session)
            oldest = oldest_pending_outbox(session)
        received = CounterMetricFamily("danvan_updates_received", "Inbound updates handled, by channel",
                                       labels=["channel"])
        for channel, count in sorted(inbound.items()):
            received.add_metric([channel], count)
        yield received
        states = GaugeMetricFamily("danvan_tickets", "Tickets by state", labels=["state"])
        for state, count in sorted(tickets.items()):
            states.add_metric([state], count)
        yield states
        backlog = GaugeMetricFamily("danvan_outbox_messages", "Outbox rows by channel and status",
                                    labels=["channel", "status"])
        for (channel, status), count in sorted(outbox.items()):
            backlog.add_metric([channel, status], count)
        yield backlog
        failures = GaugeMetricFamily("danvan_outbox_dead", "Outbox rows given up on (dead letters)",
                                     labels=["channel"])
        for (channel, status), count in sorted(outbox.items()):
            if status == "dead":
                failures.add_metric([channel], count)
        yield failures
        lag = GaugeMetricFamily("danvan_outbox_lag_seconds",
                                "Age of the oldest message waiting to be sent (reminders included)")
        if oldest is not None:
            aware = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
            lag.add_metric([], max(0.0, (self.clock.now() - aware).total_seconds()))
        else:
            lag.add_metric([], 0.0)
        yield lag


class Metrics:
    """The registry, the latency middleware and the /metrics handler."""

    def __init__(self, engine: Engine, clock: Clock, *, token: str = "") -> None:
        self.token = token
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(engine, clock))
        self.latency = Histogram("danvan_http_request_duration_seconds", "HTTP request latency",
                                 ["route", "method"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """Time every request under its route template (never the raw path: it could carry ids)."""
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            self.latency.labels(route, request.method).observe(time.perf_counter() - started)

    async def handler(self, request: web.Request) -> web.Response:
        """The Prometheus text format, only with "Authorization: Bearer <doors.metrics_token>";
        without a configured token /metrics does not exist on the citizens' port."""
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not self.token or not hmac.compare_digest(supplied.encode(), self.token.encode()):
            raise web.HTTPNotFound()
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
