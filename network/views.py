"""Network and data pages. They read the local database only (what network.poll stored):
/network/ (node cards, route matrix), a node's and a route's page with their full history,
/data/ (the domain data inventory) and a data item's page. Login is required by the
middleware; viewers see everything."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.roles import is_operator
from jobs.inputs import db_id
from network import present
from network.models import (
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
from network.poll import poll_seconds
from network.querysets import DATA_PAGE_SIZES, DataCursor, DataFilter
from network.views_data import item_forms


def _int_param(request: HttpRequest, name: str) -> int | None:
    return db_id(request.GET.get(name, ""))


def _poll_states(connection: str = "") -> list[present.PollHealth]:
    return present.poll_health(NetworkSync.objects.for_pages(connection))


# ---------------------------------------------------------------------- /network/


@require_GET
@vary_on_headers("HX-Request")
def network(request: HttpRequest) -> HttpResponse:
    connection = request.GET.get("connection", "").strip()[:64]
    now = timezone.now()
    nodes = list(Node.objects.for_network(connection))
    cards, compact = present.split_cards(present.node_cards(nodes, now))
    cards, more_cards = present.cap_cards(cards)
    plan = present.plan_routes(
        Route.objects.per_source(connection),
        [n.domain_id for n in nodes if n.gone_at is None],
        show_all=request.GET.get("routes") == "all",
        source=request.GET.get("source", "").strip()[:63],
    )
    routes: list[Route] = []
    if plan.total:
        # the matrix needs every route; else one source's routes, or the first problems
        source = "" if plan.draw_matrix else plan.source
        problems = None if plan.draw_matrix else plan.problems_only
        routes = list(Route.objects.drawn(connection, source=source, problems=problems))
    ids = None if plan.draw_matrix else [r.pk for r in routes]
    window = RouteTransition.objects.window(now - present.WINDOW, connection, route_ids=ids)
    listing = present.route_listing(plan, present.route_views(routes, window, now))
    context: dict[str, Any] = {
        "now": now,
        "connection": connection,
        "cards": cards,
        "compact": compact,
        "more_cards": more_cards,
        "domain_count": len(cards) + len(compact) + len(more_cards),
        "listing": listing,
        "polls": _poll_states(connection),
        "poll_seconds": max(int(poll_seconds()), 5),
        "several": len({n.connection_id for n in nodes} | {r.connection_id for r in routes}) > 1,
    }
    template = "network/network.html#live" if request.htmx else "network/network.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_GET
def node_detail(request: HttpRequest, connection: str, domain_id: str) -> HttpResponse:
    node = Node.objects.for_detail(connection, domain_id).first()
    if node is None:
        raise Http404(_("No such node on this connection."))
    now = timezone.now()
    rows = NodeTransition.objects.history(node.pk, before=_int_param(request, "before"))
    routes = list(Route.objects.touching(node.connection_id, domain_id))
    window = RouteTransition.objects.window(now - present.WINDOW, connection)
    return render(
        request,
        "network/node.html",
        {
            "now": now,
            "view": present.node_view(node, now),
            "node": node,
            "history": present.history(rows),
            "routes": present.route_views(routes, window, now),
        },
    )


@require_GET
def route_detail(
    request: HttpRequest, connection: str, source: str, destination: str
) -> HttpResponse:
    route = Route.objects.for_detail(connection, source, destination).first()
    if route is None:
        raise Http404(_("No such route on this connection."))
    now = timezone.now()
    rows = RouteTransition.objects.history(route.pk, before=_int_param(request, "before"))
    window = RouteTransition.objects.for_route_window(route.pk, now - present.WINDOW)
    (view,) = present.route_views([route], window, now)
    return render(
        request,
        "network/route.html",
        {"now": now, "route": route, "view": view, "history": present.history(rows)},
    )


# ---------------------------------------------------------------------- /data/


@require_GET
def data_list(request: HttpRequest) -> HttpResponse:
    f = DataFilter.from_query(request.GET)
    after = DataCursor.decode(request.GET.get("after", ""))
    before = None if after else DataCursor.decode(request.GET.get("before", ""))
    page = DataItem.objects.keyset_page(f, after=after, before=before)
    if not page.rows and (after or before):  # a cursor that leads nowhere: the first page
        page = DataItem.objects.keyset_page(f)
    polls = _poll_states(f.connection)
    return render(
        request,
        "network/data_list.html",
        {
            "f": f,
            "page": page,
            "facets": present.merged_facets(polls),
            "page_sizes": DATA_PAGE_SIZES,
            "polls": polls,
            "filtered": f != DataFilter(),
        },
    )


@require_GET
def data_detail(
    request: HttpRequest, connection: str, domain_id: str, domaindata_id: str
) -> HttpResponse:
    item = DataItem.objects.for_detail(connection, domain_id, domaindata_id).first()
    if item is None:
        raise Http404(_("No such domain data on this connection."))
    source = DataSourceItem.objects.for_item(item.connection_id, domain_id, item.datasource_id)
    grants = GrantItem.objects.for_item(item.connection_id, domain_id, domaindata_id)
    uses = present.uses_of(item, DataUse.objects.for_item(domaindata_id))
    context = {
        "item": item,
        "source": source,
        "grants": grants,
        "uses": uses,
        "types": present.column_types(item),
    }
    if is_operator(request.user) and item.gone_at is None:
        context.update(item_forms(item, grants))
    return render(request, "network/data_item.html", context)
