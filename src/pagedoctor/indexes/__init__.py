"""The index advisor: find the queries that scan, prescribe the index, verify it on the database.

::

    statements.py   is this SQL a single SELECT? (sqlglot; the safety gate for everything else)
    plans.py        EXPLAIN on each vendor, read into one common form (Plan, Step)
    candidates.py   the columns a query filters, sorts and joins on, mapped to models and fields
    verify.py       create the index in a rolled-back transaction (or create and drop), EXPLAIN
                    and time the query again
    migrations.py   the Meta.indexes entry and the migration (AddIndex, AddIndexConcurrently)
    advisor.py      the audit analyzer: missing_index, slow_query and related findings
    command.py      ``pagedoctor indexes``
"""

from __future__ import annotations
