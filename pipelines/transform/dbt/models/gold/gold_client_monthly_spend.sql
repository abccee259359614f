-- Each client's spend per month and the share of it paid by chip, by swipe and online (by amount).
select
    {{ dbt.concat([dbt.cast('client_id', dbt.type_string()), "'/'", year_month('transaction_month')]) }} as client_month,
    client_id,
    transaction_month,
    count(*) as transactions,
    sum(amount) as total_amount,
    cast(sum(case when channel = 'chip' then amount end) as {{ type_double() }}) / nullif(sum(amount), 0) as chip_share,
    cast(sum(case when channel = 'swipe' then amount end) as {{ type_double() }}) / nullif(sum(amount), 0) as swipe_share,
    cast(sum(case when channel = 'online' then amount end) as {{ type_double() }}) / nullif(sum(amount), 0) as online_share
from {{ ref('silver_transactions') }}
group by client_id, transaction_month
