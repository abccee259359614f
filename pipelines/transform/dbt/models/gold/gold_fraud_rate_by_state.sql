-- Fraud rate per merchant state over the labelled transactions; online purchases have no state ('ONLINE').
select
    coalesce(merchant_state, 'ONLINE') as merchant_state,
    count(*) as labelled_transactions,
    count(*) filter (where is_fraud) as fraud_transactions,
    cast(count(*) filter (where is_fraud) as double) / count(*) as fraud_rate
from {{ ref('silver_transactions') }}
where is_labelled
group by 1
