{#- Schemas are named for the dbt folder (staging, intermediate, marts), not prefixed
    with the target schema: the Dagster group, the dbt folder and the schema share a name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
