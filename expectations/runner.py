"""Run Great Expectations 1.x suites over DataFrames in an ephemeral context and turn
the results into one verdict with readable failures. GX is imported lazily: it costs
seconds, and only the quality gates need it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ValidationOutcome:
    success: bool
    failures: list[str] = field(default_factory=list)
    evaluated: int = 0


def run_suites(suites: list[tuple[str, list, pd.DataFrame]]) -> ValidationOutcome:
    """`suites`: (name, expectations, frame) triples, each validated as one batch."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # Progress bars would write tqdm frames into the Dagster run log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("warehouse")
    results = []
    for name, expectations, data in suites:
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("night")
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}_gate", data=batch, suite=suite)
        )
        results.append(validation.run(batch_parameters={"dataframe": data}))
    failures = []
    for r in (r for result in results for r in result.results):
        if not r.success:
            config = r.expectation_config
            kwargs = {
                k: v
                for k, v in (config.kwargs if config else {}).items()
                if k not in ("batch_id", "value_set", "value_pairs_set") and v is not None
            }
            observed = {
                k: v
                for k, v in (r.result or {}).items()
                if k in ("observed_value", "unexpected_count", "partial_unexpected_list")
            }
            name = config.type if config else "expectation"
            failures.append(f"{name} {kwargs}: {observed}")
    return ValidationOutcome(
        success=all(result.success for result in results),
        failures=failures,
        evaluated=sum(len(result.results) for result in results),
    )
