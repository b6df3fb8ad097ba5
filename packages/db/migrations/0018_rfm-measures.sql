CREATE TABLE "rfm_pending" (
	"customer_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rfm_state" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"measured_at" timestamp with time zone NOT NULL,
	"window_days" integer NOT NULL,
	CONSTRAINT "rfm_state_one_row" CHECK ("rfm_state"."id")
);
--> statement-breakpoint
ALTER TABLE "customer_rfm" ADD COLUMN "last_order_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "customer_rfm" ADD COLUMN "window_orders" integer;--> statement-breakpoint
ALTER TABLE "customer_rfm" ADD COLUMN "window_total" bigint;--> statement-breakpoint
CREATE INDEX "customers_manual_level_idx" ON "customers" USING btree ("id","manual_level_id") WHERE "customers"."manual_level_id" is not null;--> statement-breakpoint
CREATE INDEX "customers_deleted_idx" ON "customers" USING btree ("id") WHERE "customers"."deleted_at" is not null;--> statement-breakpoint
-- Hand-added: the customers whose RFM measures may have moved, for the daily run to re-measure
-- (docs/rfm-and-levels.md, "The daily run"). One statement per write, set-based: an order's
-- customer (both, when an order moves), when an order comes, goes, or changes status, total or time.
CREATE FUNCTION orders_rfm_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO rfm_pending (customer_id) SELECT DISTINCT customer_id FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO rfm_pending (customer_id) SELECT DISTINCT customer_id FROM old_rows;
  ELSE
    INSERT INTO rfm_pending (customer_id)
    SELECT DISTINCT v.customer_id
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     CROSS JOIN LATERAL (VALUES (o.customer_id), (n.customer_id)) v (customer_id)
     WHERE (o.customer_id, o.status, o.total, o.created_at) IS DISTINCT FROM (n.customer_id, n.status, n.total, n.created_at);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER orders_rfm_pending_insert AFTER INSERT ON orders
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION orders_rfm_pending();
--> statement-breakpoint
CREATE TRIGGER orders_rfm_pending_update AFTER UPDATE ON orders
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION orders_rfm_pending();
--> statement-breakpoint
CREATE TRIGGER orders_rfm_pending_delete AFTER DELETE ON orders
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION orders_rfm_pending();
--> statement-breakpoint
-- A truncate leaves no trace to re-measure from: the next run measures everyone.
CREATE FUNCTION orders_rfm_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM rfm_state;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER orders_rfm_truncated AFTER TRUNCATE ON orders
  FOR EACH STATEMENT EXECUTE FUNCTION orders_rfm_truncated();
--> statement-breakpoint
-- A deleted customer leaves the quintiles and a restored one comes back: both are re-measured.
CREATE FUNCTION customers_rfm_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rfm_pending (customer_id)
  SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.deleted_at IS DISTINCT FROM n.deleted_at;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER customers_rfm_pending AFTER UPDATE ON customers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION customers_rfm_pending();
