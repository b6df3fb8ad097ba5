-- updated_at on the incrementally synced tables is kept by the database on every insert and update,
-- whatever statement writes the row (query builder, set-based SQL, the CSV import): never earlier than
-- the writing transaction's start, in milliseconds (what the API shows and what a sync cursor holds).
-- The cursor mode of the lists relies on it: a row still being written always lies at or after the
-- start of a transaction that is still open, so no cursor can pass it before it commits.
CREATE FUNCTION sync_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := date_trunc('milliseconds', greatest(NEW.updated_at, now()));
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER customers_sync_updated_at BEFORE INSERT OR UPDATE ON customers
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();
--> statement-breakpoint
CREATE TRIGGER orders_sync_updated_at BEFORE INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();
--> statement-breakpoint
CREATE TRIGGER products_sync_updated_at BEFORE INSERT OR UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();
--> statement-breakpoint
CREATE TRIGGER promotions_sync_updated_at BEFORE INSERT OR UPDATE ON promotions
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();
--> statement-breakpoint
CREATE TRIGGER tasks_sync_updated_at BEFORE INSERT OR UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();
--> statement-breakpoint
CREATE TRIGGER message_queue_sync_updated_at BEFORE INSERT OR UPDATE ON message_queue
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();
