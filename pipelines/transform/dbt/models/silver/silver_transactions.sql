-- One row per transaction id (its latest version), typed, with its fraud label and its MCC's description.
with transactions as (
    {{ latest_version(source('landing', 'transactions'), 'id') }}
)

select
    t.id as transaction_id,
    cast(t.date as timestamp) as transaction_at,
    cast({{ dbt.date_trunc('month', 'cast(t.date as timestamp)') }} as date) as transaction_month,
    t.client_id,
    t.card_id,
    cast(t.amount as decimal(18, 2)) as amount,
    t.use_chip,
    lower({{ dbt.split_part('t.use_chip', "' '", 1) }}) as channel,
    t.merchant_id,
    t.merchant_city,
    t.merchant_state,
    t.zip,
    t.mcc,
    m.mcc_description,
    t.errors,
    l.is_fraud,
    l.transaction_id is not null as is_labelled
from transactions as t
left join {{ ref('silver_fraud_labels') }} as l on l.transaction_id = t.id
left join {{ ref('silver_mcc_codes') }} as m on m.mcc = t.mcc
