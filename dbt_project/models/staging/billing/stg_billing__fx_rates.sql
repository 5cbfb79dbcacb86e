with source as (
    select * from {{ source('billing', 'fx_rates') }}
),

renamed as (
    select
        rate_date,
        upper(currency) as currency,
        -- Either, or both, as the export gives them, at full precision (DECIMAL(38,18)):
        -- reporting units per 1 unit of the currency (multiply) ...
        rate_to_reporting,
        -- ... or units of the currency per 1 reporting unit (divide).
        {{ optional_column(
            source('billing', 'fx_rates'), 'units_per_reporting', 'decimal(38, 18)'
        ) }} as units_per_reporting
    from source
)

select * from renamed
