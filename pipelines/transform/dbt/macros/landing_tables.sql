{#
  The landing sources as the warehouse sees them. DuckDB reads the parquet where it lies (sources.yml's
  `external_location`): nothing to do. BigQuery reads it through external tables over the GCS lake, one per
  source table, (re)created by the run's on-run-start hook (one BigQuery script) so a new load's files and
  columns are seen; `dbt compile` only renders it.
#}
{% macro landing_external_tables_sql() -%}
    {{ return(adapter.dispatch('landing_external_tables_sql')()) }}
{%- endmacro %}

{% macro default__landing_external_tables_sql() %}{{ return('') }}{% endmacro %}

{% macro bigquery__landing_external_tables_sql() -%}
    {%- if not execute %}{{ return('') }}{% endif %}  {#- the graph is there only when dbt runs, not while it parses #}
    {%- for source in graph.sources.values() | selectattr('source_name', 'equalto', 'landing') | sort(attribute='name') %}
    create or replace external table `{{ source.database }}`.`{{ source.schema }}`.`{{ source.identifier }}`
    options (format = 'PARQUET', uris = ['{{ var("landing_root") }}/{{ source.name }}/*.parquet']);
    {%- endfor %}
{%- endmacro %}
