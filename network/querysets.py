"""Named reads of the network and data pages. Every query a view runs is a method here, and
the pages' query counts are pinned by tests (tests/network/test_pages.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from jobs.inputs import db_id

if TYPE_CHECKING:
    from network.models import (  # noqa: F401
        DataItem,
        DataSourceItem,
        DataUse,
        GrantItem,
        NetworkSync,
        Node,
        NodeTransition,
        Route,
        RouteTransition,
    )

HISTORY_PAGE = 100  # transitions per page on a node or route page
DATA_PAGE_SIZES = (25, 50, 100)
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,253}$")

NODE_CARD_FIELDS = (
    "connection__name",
    "domain_id",
    "role",
    "status",
    "reason",
    "version",
    "last_heartbeat",
    "cert_present",
    "cert_not_after",
    "deploy_tokens",
    "since",
    "first_seen",
    "gone_at",
)
ROUTE_CELL_FIELDS = (
    "connection__name",
    "source",
    "destination",
    "status",
    "reason",
    "reason_code",
    "kuscia_updated_at",
    "since",
    "first_seen",
    "gone_at",
)


class NodeQuerySet(models.QuerySet["Node"]):
    def for_network(self, connection: str = "") -> NodeQuerySet:
        """The /network/ cards: every node (gone ones too, shown as such), by domain."""
        qs = self.filter(connection__enabled=True)
        if connection:
            qs = qs.filter(connection__name=connection)
        return (
            qs.select_related("connection")
            .only(*NODE_CARD_FIELDS)
            .order_by("domain_id", "connection__name")
        )

    def for_detail(self, connection: str, domain_id: str) -> NodeQuerySet:
        return self.select_related("connection").filter(
            connection__name=connection, domain_id=domain_id
        )

    def of_parties(self, connection_id: int, domains: list[str]) -> NodeQuerySet:
        """A job's parties' nodes on its connection (the failure card)."""
        return (
            self.filter(connection_id=connection_id, domain_id__in=domains)
            .select_related("connection")
            .order_by("domain_id")
        )

    def domain_ids(self, connection_id: int) -> list[str]:
        """Domains the network poll found on a connection (not gone), by id: the create form's
        domain suggestions and its unknown-domain warning. One query."""
        return list(
            self.filter(connection_id=connection_id, gone_at__isnull=True)
            .order_by("domain_id")
            .values_list("domain_id", flat=True)
        )

    def search(self, q: str, limit: int = 8) -> NodeQuerySet:
        """Nodes (party domains) whose domain id starts with `q`, for the header search."""
        return (
            self.filter(domain_id__startswith=q.lower(), connection__enabled=True)
            .select_related("connection")
            .only("connection__name", "domain_id", "status", "gone_at")
            .order_by("domain_id", "connection__name")[:limit]
        )

    def not_ready_since(
        self, cutoff: dt.datetime, *, connection_id: int | None = None, domain: str = ""
    ) -> NodeQuerySet:
        """Nodes (not gone, on enabled connections) NotReady or Degraded since `cutoff` or
        earlier: alerts' "node not ready for N minutes" rule (one query, a row per match)."""
        from network.models import DEGRADED, NOT_READY

        qs = self.filter(
            gone_at__isnull=True,
            status__in=(NOT_READY, DEGRADED),
            since__lte=cutoff,
            connection__enabled=True,
        )
        if connection_id is not None:
            qs = qs.filter(connection_id=connection_id)
        if domain:
            qs = qs.filter(domain_id=domain)
        return qs.select_related("connection").order_by("pk")

    def not_ready_count(self) -> int:
        """Nodes (not gone) whose agents are not all Ready, for the overview tile. One query."""
        from network.models import DEGRADED, NOT_READY

        return self.filter(
            gone_at__isnull=True, status__in=(NOT_READY, DEGRADED), connection__enabled=True
        ).count()


class NodeTransitionQuerySet(models.QuerySet["NodeTransition"]):
    def history(self, node_id: int, *, before: int | None = None) -> list[NodeTransition]:
        """Newest first, HISTORY_PAGE at a time (`before`: the id the previous page ended at);
        one more row than shown tells whether there is an older page."""
        qs = self.filter(node_id=node_id)
        if before is not None:
            qs = qs.filter(id__lt=before)
        return list(qs.order_by("-observed_at", "-id")[: HISTORY_PAGE + 1])


@dataclass(frozen=True)
class RouteKey:
    """What /network/ needs of every route to decide what to draw (no model instance)."""

    pk: int
    source: str
    destination: str
    status: str
    gone: bool


@dataclass(frozen=True)
class SourceCount:
    """How many routes leave a domain, by state: what /network/ needs to decide what to draw
    (and the per-source table when there are too many domains for a matrix)."""

    source: str
    up: int  # Succeeded, not gone
    down: int  # anything else, not gone
    gone: int


class RouteQuerySet(models.QuerySet["Route"]):
    def _shown(self, connection: str = "") -> RouteQuerySet:
        qs = self.filter(connection__enabled=True)
        return qs.filter(connection__name=connection) if connection else qs

    def per_source(self, connection: str = "") -> list[SourceCount]:
        """Routes of the enabled connections counted per source domain and state: one GROUP
        BY, a row per domain whatever the number of routes."""
        from network.models import ROUTE_UP

        rows = (
            self._shown(connection)
            .order_by()
            .values("source")
            .annotate(
                total=models.Count("pk"),
                up=models.Count("pk", filter=Q(gone_at__isnull=True, status=ROUTE_UP)),
                gone=models.Count("pk", filter=Q(gone_at__isnull=False)),
            )
            .order_by("source")
            .values_list("source", "total", "up", "gone")
        )
        return [SourceCount(s, up, total - up - gone, gone) for s, total, up, gone in rows]

    def drawn(
        self, connection: str = "", *, source: str = "", problems: int | None = None
    ) -> RouteQuerySet:
        """The routes /network/ draws, with their connection: all (the matrix), one source
        domain's, or (problems=N) N that are not Succeeded: down before gone, the most recent
        change first (what just broke)."""
        from network.models import ROUTE_UP

        qs = self._shown(connection).select_related("connection").only(*ROUTE_CELL_FIELDS)
        if source:
            qs = qs.filter(source=source)
        if problems is None:
            return qs.order_by("source", "destination", "connection__name")
        qs = qs.filter(~Q(status=ROUTE_UP) | Q(gone_at__isnull=False))
        order = (models.F("gone_at").asc(nulls_first=True), "-since", "source", "destination")
        return qs.order_by(*order, "connection__name")[:problems]

    def keys(self, connection: str = "") -> list[RouteKey]:
        """Every route of the enabled connections as light tuples: one query, no model
        instances (2,000 routes with their connections would cost more than the page)."""
        qs = self.filter(connection__enabled=True)
        if connection:
            qs = qs.filter(connection__name=connection)
        gone = models.ExpressionWrapper(
            Q(gone_at__isnull=False), output_field=models.BooleanField()
        )
        rows = (
            qs.annotate(is_gone=gone)
            .order_by("source", "destination", "connection__name")
            .values_list("pk", "source", "destination", "status", "is_gone")
        )
        return [RouteKey(*row) for row in rows]

    def for_cells(self, ids: list[int]) -> RouteQuerySet:
        """The routes /network/ draws (matrix cells, listed rows), with their connection."""
        return (
            self.filter(pk__in=ids)
            .select_related("connection")
            .only(*ROUTE_CELL_FIELDS)
            .order_by("source", "destination", "connection__name")
        )

    def for_detail(self, connection: str, source: str, destination: str) -> RouteQuerySet:
        return self.select_related("connection").filter(
            connection__name=connection, source=source, destination=destination
        )

    def touching(self, connection_id: int, domain_id: str) -> RouteQuerySet:
        """Routes from or to a domain on one connection (the node page)."""
        return (
            self.filter(connection_id=connection_id)
            .filter(Q(source=domain_id) | Q(destination=domain_id))
            .select_related("connection")
            .only(*ROUTE_CELL_FIELDS)
            .order_by("source", "destination")
        )

    def failed_since(
        self, cutoff: dt.datetime, *, connection_id: int | None = None, party: str = ""
    ) -> RouteQuerySet:
        """Routes (not gone, on enabled connections) Failed since `cutoff` or earlier, from or
        to `party` when given: alerts' "route failed for N minutes" rule (one query)."""
        from network.models import ROUTE_DOWN

        qs = self.filter(
            gone_at__isnull=True, status=ROUTE_DOWN, since__lte=cutoff, connection__enabled=True
        )
        if connection_id is not None:
            qs = qs.filter(connection_id=connection_id)
        if party:
            qs = qs.filter(Q(source=party) | Q(destination=party))
        return qs.select_related("connection").order_by("pk")

    def down_count(self) -> int:
        """Routes (not gone) that are not Succeeded, for the overview tile. One query."""
        from network.models import ROUTE_UP

        return (
            self.filter(gone_at__isnull=True, connection__enabled=True)
            .exclude(status=ROUTE_UP)
            .count()
        )

    def between(self, domains: list[str], connection_id: int) -> RouteQuerySet:
        """The routes among a set of domains on one connection (a job's parties)."""
        return (
            self.filter(connection_id=connection_id, source__in=domains, destination__in=domains)
            .select_related("connection")
            .order_by("source", "destination")
        )


class RouteTransitionQuerySet(models.QuerySet["RouteTransition"]):
    def window(
        self, since: dt.datetime, connection: str = "", *, route_ids: list[int] | None = None
    ) -> list[tuple[int, str, str, Any]]:
        """(route_id, old, new, observed_at) of every route change since `since` (of these
        routes only, when given), in order: the 24 h strips of the page in one query."""
        qs = self.filter(observed_at__gte=since, route__connection__enabled=True)
        if connection:
            qs = qs.filter(route__connection__name=connection)
        if route_ids is not None:
            qs = qs.filter(route_id__in=route_ids)
        return list(
            qs.order_by("route_id", "observed_at", "id").values_list(
                "route_id", "old_status", "new_status", "observed_at"
            )
        )

    def for_route_window(
        self, route_id: int, since: dt.datetime
    ) -> list[tuple[int, str, str, Any]]:
        return list(
            self.filter(route_id=route_id, observed_at__gte=since)
            .order_by("observed_at", "id")
            .values_list("route_id", "old_status", "new_status", "observed_at")
        )

    def history(self, route_id: int, *, before: int | None = None) -> list[RouteTransition]:
        qs = self.filter(route_id=route_id)
        if before is not None:
            qs = qs.filter(id__lt=before)
        return list(qs.order_by("-observed_at", "-id")[: HISTORY_PAGE + 1])


# ---------------------------------------------------------------------- data


@dataclass(frozen=True)
class DataFilter:
    """The /data/ list as it appears in the URL: ?q=&domain=&type=&connection=&gone=1."""

    q: str = ""
    domain: str = ""
    type: str = ""
    connection: str = ""
    gone: bool = False
    per_page: int = 50
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, query: Any) -> DataFilter:
        errors: list[str] = []

        def one(name: str) -> str:
            return str(query.get(name, "") or "").strip()

        def token(name: str) -> str:
            value = one(name)
            if value and not _TOKEN.match(value):
                errors.append(name)
                return ""
            return value

        try:
            per_page = int(one("per_page") or 50)
        except ValueError:
            per_page = 50
        return cls(
            q=one("q")[:100],
            domain=token("domain"),
            type=token("type"),
            connection=token("connection"),
            gone=one("gone") == "1",
            per_page=per_page if per_page in DATA_PAGE_SIZES else 50,
            errors=tuple(errors),
        )


@dataclass(frozen=True)
class DataCursor:
    domain_id: str
    domaindata_id: str
    pk: int

    def encode(self) -> str:
        return f"{self.domain_id}~{self.domaindata_id}~{self.pk}"

    @classmethod
    def decode(cls, text: str) -> DataCursor | None:
        parts = text.split("~")
        pk = db_id(parts[2]) if len(parts) == 3 else None
        if pk is None:  # not three parts, or no id a database could hold (4,301 digits...)
            return None
        return cls(parts[0], parts[1], pk)


@dataclass
class DataPage:
    rows: list[DataItem]
    next: DataCursor | None
    prev: DataCursor | None


DATA_ROW_FIELDS = (
    "connection__name",
    "domain_id",
    "domaindata_id",
    "name",
    "type",
    "relative_uri",
    "datasource_id",
    "vendor",
    "author",
    "column_count",
    "attributes",
    "gone_at",
)


class DataItemQuerySet(models.QuerySet["DataItem"]):
    def filtered(self, f: DataFilter) -> DataItemQuerySet:
        qs = self.filter(connection__enabled=True)
        if not f.gone:
            qs = qs.filter(gone_at__isnull=True)
        if f.connection:
            qs = qs.filter(connection__name=f.connection)
        if f.domain:
            qs = qs.filter(domain_id=f.domain)
        if f.type:
            qs = qs.filter(type=f.type)
        if f.q:
            qs = qs.filter(
                Q(domaindata_id__icontains=f.q)
                | Q(name__icontains=f.q)
                | Q(relative_uri__icontains=f.q)
            )
        return qs

    def keyset_page(
        self, f: DataFilter, *, after: DataCursor | None = None, before: DataCursor | None = None
    ) -> DataPage:
        """One page in (domain_id, domaindata_id, id) order after/before a cursor: one query
        (never OFFSET: page 2,000 costs what page 1 does)."""
        qs = self.filtered(f).select_related("connection").only(*DATA_ROW_FIELDS)
        size = f.per_page
        if before is not None:
            rows = list(
                qs.filter(_before(before)).order_by("-domain_id", "-domaindata_id", "-id")[
                    : size + 1
                ]
            )
            more = len(rows) > size
            rows = rows[:size][::-1]
            return DataPage(
                rows=rows,
                next=_cursor(rows[-1]) if rows else None,
                prev=_cursor(rows[0]) if rows and more else None,
            )
        if after is not None:
            qs = qs.filter(_after(after))
        rows = list(qs.order_by("domain_id", "domaindata_id", "id")[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return DataPage(
            rows=rows,
            next=_cursor(rows[-1]) if rows and more else None,
            prev=_cursor(rows[0]) if rows and after is not None else None,
        )

    def search(self, q: str, limit: int = 8) -> list[DataItem]:
        """Data rows (not gone) whose id is `q` (first) or contains it, for the header search:
        the equality by the domaindata_id index, the substring by its trigram index (network
        migration 0002). Two queries."""
        rows = (
            self.filter(connection__enabled=True, gone_at__isnull=True)
            .select_related("connection")
            .only("connection__name", "domain_id", "domaindata_id", "name", "type")
        )
        exact = list(rows.filter(domaindata_id=q).order_by("domain_id")[:limit])
        if len(q) < 3:  # no trigram to look up: a substring would scan every row
            return exact
        near = rows.filter(domaindata_id__icontains=q).exclude(pk__in=[d.pk for d in exact])
        return exact + list(near.order_by("domaindata_id", "id")[: limit - len(exact)])

    def for_detail(self, connection: str, domain_id: str, domaindata_id: str) -> DataItemQuerySet:
        return self.select_related("connection").filter(
            connection__name=connection, domain_id=domain_id, domaindata_id=domaindata_id
        )

    def facets_of(self, connection_id: int) -> dict[str, list[str]]:
        """The domains and types of a connection's data (items not gone): one DISTINCT over
        the connection's rows, for network.sync to store on NetworkSync after an inventory
        (never on a page: it reads every row)."""
        pairs = set(
            self.filter(connection_id=connection_id, gone_at__isnull=True)
            .order_by()
            .values_list("domain_id", "type")
            .distinct()
        )
        return {
            "domains": sorted({d for d, _ in pairs}),
            "types": sorted({t for _, t in pairs if t}),
        }

    def ids_for_picker(self, connection_id: int, domain_id: str, limit: int = 500) -> list[Any]:
        """(domaindata_id, type, name) of a domain's data, for the create form's input picker."""
        return list(
            self.filter(connection_id=connection_id, domain_id=domain_id, gone_at__isnull=True)
            .order_by("domaindata_id")
            .values_list("domaindata_id", "type", "name")[:limit]
        )


def _cursor(row: DataItem) -> DataCursor:
    return DataCursor(row.domain_id, row.domaindata_id, row.pk)


def _after(c: DataCursor) -> Q:
    """(domain_id, domaindata_id, id) > cursor. The leading domain_id >= lets the database
    start an index range scan at the cursor instead of filtering every row."""
    return Q(domain_id__gte=c.domain_id) & (
        Q(domain_id__gt=c.domain_id)
        | Q(domaindata_id__gt=c.domaindata_id)
        | Q(domaindata_id=c.domaindata_id, id__gt=c.pk)
    )


def _before(c: DataCursor) -> Q:
    return Q(domain_id__lte=c.domain_id) & (
        Q(domain_id__lt=c.domain_id)
        | Q(domaindata_id__lt=c.domaindata_id)
        | Q(domaindata_id=c.domaindata_id, id__lt=c.pk)
    )


class DataSourceItemQuerySet(models.QuerySet["DataSourceItem"]):
    def for_item(self, connection_id: int, domain_id: str, datasource_id: str) -> Any:
        """The data source an item names (None when the inventory has not seen it)."""
        return (
            self.filter(
                connection_id=connection_id, domain_id=domain_id, datasource_id=datasource_id
            )
            .only("name", "type", "location", "gone_at", "access_directly")
            .first()
        )


class GrantItemQuerySet(models.QuerySet["GrantItem"]):
    def for_item(self, connection_id: int, domain_id: str, domaindata_id: str) -> list[Any]:
        return list(
            self.filter(
                connection_id=connection_id, domain_id=domain_id, domaindata_id=domaindata_id
            ).order_by("grant_domain", "grant_id")
        )


class NetworkSyncQuerySet(models.QuerySet["NetworkSync"]):
    def for_pages(self, connection: str = "") -> NetworkSyncQuerySet:
        """Poll health of the enabled connections (one, by name, when given)."""
        qs = self.select_related("connection").filter(connection__enabled=True)
        if connection:
            qs = qs.filter(connection__name=connection)
        return qs.order_by("connection__name")


class DataUseQuerySet(models.QuerySet["DataUse"]):
    def for_item(self, domaindata_id: str, limit: int = 200) -> DataUseQuerySet:
        """Tasks that read or wrote a domain data id, newest job first, with the job and its
        connection (for the link)."""
        return (
            self.filter(domaindata_id=domaindata_id)
            .select_related("job", "job__connection")
            .only(
                "task_id",
                "direction",
                "parties",
                "job_time",
                "job__job_id",
                "job__state",
                "job__connection__name",
            )
            .order_by("-job_time", "-id")[:limit]
        )
