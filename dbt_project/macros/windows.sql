{#- The run's as_of date (docs/revenue.md): windows are relative to it, never to the wall clock. -#}
{% macro as_of_date() -%}
    date '{{ var("as_of") }}'
{%- endmacro %}

{#- as_of minus N calendar months; DuckDB clamps the day (2026-03-31 - 1 month = 2026-02-28). -#}
{% macro months_before_as_of(months) -%}
    ({{ as_of_date() }} - interval ({{ months }}) month)::date
{%- endmacro %}
