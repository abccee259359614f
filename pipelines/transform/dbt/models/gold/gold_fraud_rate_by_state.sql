-- Fraud rate per merchant state over the labelled transactions; online purchases have no state ('ONLINE').
select
    coalesce(merchant_state, 'ONLINE') as merchant_state,
    count(*) as labelled_transactions,
    sum(case when is_fraud then 1 else 0 end) as fraud_transactions,
    cast(sum(case when is_fraud then 1 else 0 end) as {{ type_double() }}) / count(*) as fraud_rate
from {{ ref('silver_transactions') }}
where is_labelled
group by 1
