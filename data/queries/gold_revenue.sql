-- Gold revenue: revenue per region across the newest 5-minute windows, busiest region first.
SELECT
    window_start,
    window_end,
    region,
    SUM(order_count)                                   AS orders,
    ROUND(SUM(total_revenue), 2)                       AS revenue,
    ROUND(SUM(total_revenue) / SUM(order_count), 2)    AS avg_order_value,
    SUM(total_units_sold)                              AS units_sold
FROM gold_order_revenue_windows
GROUP BY window_start, window_end, region
ORDER BY window_start DESC, revenue DESC
