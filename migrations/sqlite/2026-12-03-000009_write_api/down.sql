DROP TABLE idempotency_key;
DROP TABLE write_audit;
DROP TABLE api_token;
