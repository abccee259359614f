-- Each client's spend per month and the share of it paid by chip, by swipe and online (by amount).
select
    client_id || '/' || strftime(transaction_month, '%Y-%m') as client_month,
    client_id,
    transaction_month,
    count(*) as transactions,
    sum(amount) as total_amount,
    cast(sum(amount) filter (where channel = 'chip') as double) / nullif(sum(amount), 0) as chip_share,
    cast(sum(amount) filter (where channel = 'swipe') as double) / nullif(sum(amount), 0) as swipe_share,
    cast(sum(amount) filter (where channel = 'online') as double) / nullif(sum(amount), 0) as online_share
from {{ ref('silver_transactions') }}
group by client_id, transaction_month
