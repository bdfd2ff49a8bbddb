"""Customer analytics: a workspace's usage, performance and costs, from pre-aggregated rows.

- `histogram`: the fixed timing buckets and percentiles read from their counts (pure).
- `service`: the three reads (`usage`, `performance`, `costs`) over `store/analytics.py`'s rows,
  which settlement and release write in their one transaction.
"""

from __future__ import annotations
