-- Gold adds up: each month's total spend in gold_client_monthly_spend equals the sum of silver's amounts for that
-- month. A row is a month where the two differ or one side lacks it (the test fails on any row).
with silver as (
    select transaction_month as month, sum(amount) as total
    from {{ ref('silver_transactions') }}
    group by transaction_month
),

gold as (
    select transaction_month as month, sum(total_amount) as total
    from {{ ref('gold_client_monthly_spend') }}
    group by transaction_month
)

select coalesce(silver.month, gold.month) as month, silver.total as silver_total, gold.total as gold_total
from silver
full outer join gold on silver.month = gold.month
where silver.total is null or gold.total is null or silver.total != gold.total
