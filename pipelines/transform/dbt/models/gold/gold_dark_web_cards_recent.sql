-- Cards flagged on the dark web with transactions in the last `recent_days` days before the newest one in silver.
with newest as (
    select max(transaction_at) as newest_at from {{ ref('silver_transactions') }}
)

select
    c.card_id,
    c.client_id,
    c.card_brand,
    c.card_type,
    {{ dbt.right(dbt.cast('c.card_number', dbt.type_string()), 4) }} as card_last4,
    count(*) as recent_transactions,
    sum(t.amount) as recent_amount,
    max(t.transaction_at) as last_transaction_at
from {{ ref('silver_cards') }} as c
join {{ ref('silver_transactions') }} as t on t.card_id = c.card_id
cross join newest
where c.card_on_dark_web
  and t.transaction_at >= {{ days_before('newest.newest_at', var('recent_days')) }}
group by c.card_id, c.client_id, c.card_brand, c.card_type, c.card_number
