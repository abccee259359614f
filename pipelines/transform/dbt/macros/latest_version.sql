{#
  The latest version of each key in a landing table: dlt appends (transactions) or replaces (the rest) whole
  files named <load id>.<file id>.parquet, where the load id is a Unix timestamp; the newest load wins.
#}
{% macro load_order(filename_column='filename') -%}
    cast(regexp_extract({{ filename_column }}, '/([0-9]+(\.[0-9]+)?)\.[^/]+\.parquet$', 1) as double)
{%- endmacro %}

{% macro latest_version(relation, key) -%}
    select * exclude (_load_order, _version)
    from (
        select
            *,
            {{ load_order() }} as _load_order,
            row_number() over (partition by {{ key }} order by {{ load_order() }} desc, filename desc) as _version
        from {{ relation }}
    )
    where _version = 1
{%- endmacro %}
