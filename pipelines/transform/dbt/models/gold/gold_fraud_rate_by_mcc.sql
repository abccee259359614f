-- Fraud rate per merchant category over the labelled transactions.
select
    mcc,
    any_value(mcc_description) as mcc_description,
    count(*) as labelled_transactions,
    count(*) filter (where is_fraud) as fraud_transactions,
    cast(count(*) filter (where is_fraud) as double) / count(*) as fraud_rate
from {{ ref('silver_transactions') }}
where is_labelled
group by mcc
