"""The network write path's hook for the apps above it (alerts), so that network/ never imports
them.

- `network_changed(connection=Connection, nodes=int, routes=int)`: a domain or route answer
  recorded this many node and route transitions on the connection. Sent after the writing
  transaction commits (transaction.on_commit), with send_robust: a receiver's error never
  reaches the write path (receivers log their own errors).
"""

from __future__ import annotations

from django.dispatch import Signal

network_changed = Signal()
