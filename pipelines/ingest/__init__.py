"""Ingest: the export contract and profiles, finding and decoding files, the loader
that types and checks rows into raw.<source>, the CRM history, and the pre-flight check.
The bottom layer: it imports nothing from marts, rules, quality or publish."""
