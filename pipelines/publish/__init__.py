"""Publish: the release BI tools read (built beside, swapped in by rename), the kept
releases and rollback, and exports. The top layer."""
