-- Weighted open pipeline per account (docs/growth_potential.md): amount in reporting
-- currency (latest rate on or before as_of, macro to_reporting) x probability, the
-- per-stage default when it is missing.
with deals as (
    select * from {{ ref('int_deals_defaulted') }}
    where not is_closed
),

latest_rates as (
    select * from {{ ref('int_fx_rates_latest') }}
),

weighted as (
    select
        deals.account_id,
        {{ to_reporting('deals.amount', 'deals.currency', 'latest_rates.rate_to_reporting',
            'latest_rates.units_per_reporting') }} as amount_reporting,
        coalesce(
            deals.probability,
            case deals.stage
                {%- for stage, probability in var('stage_probabilities').items() %}
                    when '{{ stage }}' then {{ probability }}
                {%- endfor %}
                else 0
            end
        ) as probability
    from deals
    left join latest_rates using (currency)
),

per_account as (
    select
        account_id,
        count(*) as open_deals,
        coalesce(sum(amount_reporting * probability), 0)::decimal(18, 2)
            as weighted_open_pipeline
    from weighted
    group by account_id
)

select * from per_account
