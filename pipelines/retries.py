"""Retries for transient I/O only (a file still being copied, a full or busy disk).

A RetryPolicy would also retry bugs and refused files; a failed quality gate must
never be retried (FACTS). So only OSError and DuckDB's I/O errors ask for a retry.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import OpExecutionContext, RetryRequested

MAX_IO_RETRIES = 3
FIRST_DELAY_SECONDS = 5


@contextmanager
def retry_on_io_errors(context: OpExecutionContext) -> Iterator[None]:
    try:
        yield
    except (OSError, duckdb.IOException) as exc:
        delay = FIRST_DELAY_SECONDS * 2**context.retry_number
        context.log.warning(
            f"transient I/O error ({exc}); retry "
            f"{context.retry_number + 1} of {MAX_IO_RETRIES} in {delay} s"
        )
        raise RetryRequested(max_retries=MAX_IO_RETRIES, seconds_to_wait=delay) from exc
