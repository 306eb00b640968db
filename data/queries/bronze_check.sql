-- Bronze sanity check: one row per event_date and event_type.
-- Every Kafka record must appear once (duplicate_records = 0), no required field may be null,
-- and ingest lag (broker receipt time minus business time) shows how fresh the feed is.
SELECT
    event_date,
    event_type,
    COUNT(*)                                                        AS events,
    COUNT(*) - COUNT(DISTINCT kafka_partition, kafka_offset)         AS duplicate_records,
    SUM(CASE WHEN order_id IS NULL OR event_timestamp IS NULL
             OR region IS NULL OR total_price IS NULL THEN 1 ELSE 0 END) AS null_required_fields,
    ROUND(SUM(total_price), 2)                                      AS total_price_sum,
    ROUND(AVG(unix_timestamp(kafka_ingest_ts) - unix_timestamp(event_timestamp)), 1)
                                                                    AS avg_ingest_lag_s,
    MAX(unix_timestamp(kafka_ingest_ts) - unix_timestamp(event_timestamp)) AS max_ingest_lag_s
FROM bronze_order_events
GROUP BY event_date, event_type
ORDER BY event_date, event_type
