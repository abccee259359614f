-- Silver keeps every landing key, once, and invents none: a row is a key on one side only (the test fails on any).
{% set keyed = [('transactions', 'id', 'silver_transactions', 'transaction_id'),
                ('cards', 'id', 'silver_cards', 'card_id'),
                ('users', 'id', 'silver_users', 'client_id'),
                ('mcc_codes', 'mcc', 'silver_mcc_codes', 'mcc'),
                ('fraud_labels', 'id', 'silver_fraud_labels', 'transaction_id')] %}
{% for table, landing_key, model, silver_key in keyed %}
{% if not loop.first %}union all{% endif %}
select '{{ table }}' as dataset, {{ dbt.cast('coalesce(l.key, s.key)', dbt.type_string()) }} as key,
       case when s.key is null then 'missing in silver' else 'not in landing' end as problem
from (select distinct {{ landing_key }} as key from {{ source('landing', table) }}) as l
full outer join (select distinct {{ silver_key }} as key from {{ ref(model) }}) as s on l.key = s.key
where l.key is null or s.key is null
{% endfor %}
