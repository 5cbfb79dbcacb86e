{#- docs/revenue.md: an amount in the reporting currency, rounded half-up (away from zero) to
    2 decimals once, at the end; the rate is used at full precision.
    - the reporting currency itself: the amount as it is;
    - units_per_reporting given (units of the currency per 1 reporting unit, as
      Salesforce's ConversionRate or a central-bank table): amount / units_per_reporting,
      divided exactly (see divide_half_up), never multiplied by a rounded reciprocal;
    - else amount x rate_to_reporting (exact decimal product, then rounded);
    - no rate at all: null (the caller lists the amount as missing its rate). -#}
{% macro to_reporting(amount, currency, rate_to_reporting, units_per_reporting) -%}
    (case
        when {{ currency }} = '{{ var("reporting_currency") }}'
            then round({{ amount }}, 2)
        when {{ units_per_reporting }} is not null
            then {{ divide_half_up(amount, units_per_reporting) }}
        else round({{ amount }} * {{ rate_to_reporting }}, 2)
    end)::decimal(18, 2)
{%- endmacro %}

{#- numerator / denominator rounded half-up (away from zero) to 2 decimals, exactly.
    DuckDB divides decimals in DOUBLE, where 1.005 is 1.00499..., so the division is
    done on integers: the numerator in cents, the denominator scaled by 10^18 (split
    into its whole and fractional parts so that neither overflows DECIMAL(38,18)).
    The numerator must have at most 2 decimals (contract money, DECIMAL(18,2)). -#}
{% macro divide_half_up(numerator, denominator) -%}
    {%- set scale = "1000000000000000000" -%}
    {%- set n = "((" ~ numerator ~ ") * 100)::hugeint * " ~ scale ~ "::hugeint" -%}
    {%- set d = "(floor(" ~ denominator ~ ")::hugeint * " ~ scale ~ "::hugeint + ((("
        ~ denominator ~ ") - floor(" ~ denominator ~ ")) * " ~ scale ~ ")::hugeint)" -%}
    (sign({{ n }}) * ((2 * abs({{ n }}) + {{ d }}) // (2 * {{ d }})))::decimal(38, 0) * 0.01
{%- endmacro %}

{#- A column of a raw table, or a typed null when the table predates the column (a
    warehouse loaded before the contract gained it, for a source absent since). -#}
{% macro optional_column(relation, column, data_type) -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for col in adapter.get_columns_in_relation(relation) -%}
            {%- do names.append(col.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if column | lower in names -%}
        {{ column }}::{{ data_type }}
    {%- else -%}
        null::{{ data_type }}
    {%- endif -%}
{%- endmacro %}

{#- docs/revenue.md: an amount without a currency is in the reporting currency (invoice lines,
    deals, leads' budgets). Staging keeps the export's null; the intermediate models
    apply this default. -#}
{% macro currency_or_reporting(currency) -%}
    upper(coalesce({{ currency }}, '{{ var("reporting_currency") }}'))
{%- endmacro %}
