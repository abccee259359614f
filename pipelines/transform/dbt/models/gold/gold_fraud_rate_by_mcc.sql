-- Fraud rate per merchant category over the labelled transactions.
select
    mcc,
    any_value(mcc_description) as mcc_description,
    count(*) as labelled_transactions,
    sum(case when is_fraud then 1 else 0 end) as fraud_transactions,
    cast(sum(case when is_fraud then 1 else 0 end) as {{ type_double() }}) / count(*) as fraud_rate
from {{ ref('silver_transactions') }}
where is_labelled
group by mcc
