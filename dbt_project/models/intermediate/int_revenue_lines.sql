-- The night's revenue lines, from the source the rules name (dbt var revenue_source,
-- from revenue.source in config/segmentation.yml or SEGMENTS_REVENUE_SOURCE):
--   invoices  - billed invoice lines (the default; billing is the truth for money);
--   won_deals - one line per won deal (a company whose only system is a CRM).
-- Both have the invoice line's columns, so the conversion and every mart downstream
-- are the same for either. The invoice lines' defaults are applied here: no currency
-- is the reporting currency, and is_cancelled says whether the status is cancelled.
-- depends_on: {{ ref('stg_billing__invoice_lines') }}
-- depends_on: {{ ref('int_won_deal_revenue_lines') }}
{%- set source = var('revenue_source', 'invoices') %}
{%- if source not in ('invoices', 'won_deals') %}
    {{ exceptions.raise_compiler_error(
        "var revenue_source must be invoices or won_deals, not '" ~ source ~ "'") }}
{%- endif %}

with lines as (
    {% if source == 'won_deals' %}
        select
            invoice_id,
            line_no,
            account_id,
            invoice_date,
            amount,
            currency,
            product_code,
            status,
            is_cancelled,
            due_date,
            paid_date
        from {{ ref('int_won_deal_revenue_lines') }}
    {% else %}
        -- docs/revenue.md: a line with no currency is in the reporting currency.
        select
            invoice_id,
            line_no,
            account_id,
            invoice_date,
            amount,
            {{ currency_or_reporting('currency') }} as currency,
            product_code,
            status,
            coalesce(status = 'cancelled', false) as is_cancelled,
            due_date,
            paid_date
        from {{ ref('stg_billing__invoice_lines') }}
    {% endif %}
)

select
    *,
    '{{ source }}' as revenue_source
from lines
