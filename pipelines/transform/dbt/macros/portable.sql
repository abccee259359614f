{# The few expressions DuckDB and BigQuery spell differently; everything else in the models is common SQL. #}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}
{% macro duckdb__type_double() %}double{% endmacro %}
{% macro bigquery__type_double() %}float64{% endmacro %}

{# 'YYYY-MM' of a date #}
{% macro year_month(date_expression) -%}
    {{ return(adapter.dispatch('year_month')(date_expression)) }}
{%- endmacro %}
{% macro duckdb__year_month(date_expression) %}strftime({{ date_expression }}, '%Y-%m'){% endmacro %}
{% macro bigquery__year_month(date_expression) %}format_date('%Y-%m', {{ date_expression }}){% endmacro %}

{# a timestamp `days` days earlier #}
{% macro days_before(timestamp_expression, days) -%}
    {{ return(adapter.dispatch('days_before')(timestamp_expression, days)) }}
{%- endmacro %}
{% macro duckdb__days_before(timestamp_expression, days) %}{{ timestamp_expression }} - to_days({{ days }}){% endmacro %}
{% macro bigquery__days_before(timestamp_expression, days) %}timestamp_sub({{ timestamp_expression }}, interval {{ days }} day){% endmacro %}
