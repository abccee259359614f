{#
  The latest version of each key in a landing table: dlt appends (transactions) or replaces (the rest) whole
  files named <load id>.<file id>.parquet, where the load id is a Unix timestamp; the newest load wins.
  DuckDB reads the files with a `filename` column; BigQuery's external tables carry the `_FILE_NAME` pseudo-column.
#}
{% macro load_order(filename_column) -%}
    {{ return(adapter.dispatch('load_order')(filename_column)) }}
{%- endmacro %}

{% macro duckdb__load_order(filename_column) -%}
    cast(regexp_extract({{ filename_column }}, '/([0-9]+(?:\.[0-9]+)?)\.[^/]+\.parquet$', 1) as double)
{%- endmacro %}

{% macro bigquery__load_order(filename_column) -%}
    cast(regexp_extract({{ filename_column }}, r'/([0-9]+(?:\.[0-9]+)?)\.[^/]+\.parquet$') as float64)
{%- endmacro %}

{% macro latest_version(relation, key) -%}
    {{ return(adapter.dispatch('latest_version')(relation, key)) }}
{%- endmacro %}

{% macro duckdb__latest_version(relation, key) -%}
    select * exclude (_load_order, _version)
    from (
        select
            *,
            {{ load_order('filename') }} as _load_order,
            row_number() over (partition by {{ key }} order by {{ load_order('filename') }} desc, filename desc) as _version
        from {{ relation }}
    )
    where _version = 1
{%- endmacro %}

{% macro bigquery__latest_version(relation, key) -%}
    select * except (_load_order, _version)
    from (
        select
            *,
            _FILE_NAME as filename,
            {{ load_order('_FILE_NAME') }} as _load_order,
            row_number() over (partition by {{ key }} order by {{ load_order('_FILE_NAME') }} desc, _FILE_NAME desc) as _version
        from {{ relation }}
    )
    where _version = 1
{%- endmacro %}
