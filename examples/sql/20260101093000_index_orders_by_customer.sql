-- Builds without blocking writes; zdm runs this file statement by statement.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);
