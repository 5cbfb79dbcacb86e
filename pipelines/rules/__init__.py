"""Rules: the Dagster assets over the pure business rules of `assets/` (segmentation,
retention risks, lead rankings) and the charts in their metadata."""
