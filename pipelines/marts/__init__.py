"""Marts: the dbt project wired as Dagster assets (staging, intermediate, marts)."""
