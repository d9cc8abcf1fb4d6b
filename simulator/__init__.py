"""A local KusciaAPI simulator (mTLS HTTP API, state machines, watch and log streams).

It imports nothing from Django, the console or the kuscia client. See server.Simulator,
certs.ensure_certs, clock.ManualClock and world.World (failing on demand: the `sim-fail-*`
custom_fields keys, faults.py; the network: World.set_node_status / set_route_status, or
--node-down / --route-down on the command line). Run it with `python -m simulator`.
"""

from .base import APIError
from .certs import ensure_certs
from .clock import ManualClock, RealClock
from .faults import FAILURE_REASONS, Faults
from .server import Simulator
from .world import World

__all__ = [
    "FAILURE_REASONS",
    "APIError",
    "Faults",
    "ManualClock",
    "RealClock",
    "Simulator",
    "World",
    "ensure_certs",
]
