"""Hooks of the sync engine for the apps above it (alerts), so that jobs/ never imports them.

Both are sent after the writing transaction commits (transaction.on_commit), with send_robust:
a receiver's error never reaches the write path (receivers log their own errors).

- `transitions_recorded(connection=Connection, transitions=list[Transition])`: one chunk of
  observations wrote these Transition rows (saved, with `.job` the updated Job row).
- `sync_health_changed(connection=Connection, ok=bool)`: a reconcile cycle recorded a success
  (`ok=True`, every cycle) or a failure on the connection's SyncState.
"""

from __future__ import annotations

from django.dispatch import Signal

transitions_recorded = Signal()
sync_health_changed = Signal()
