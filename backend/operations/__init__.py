"""Operations: health, readiness and Prometheus metrics for the people who run FieldVault."""
