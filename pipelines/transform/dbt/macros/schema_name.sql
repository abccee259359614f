{# The schema (DuckDB) or dataset (BigQuery) is the one the stack outputs name, not dbt's "<target>_<custom>". #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
