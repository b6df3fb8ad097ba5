CREATE TABLE "customer_rfm" (
	"customer_id" uuid PRIMARY KEY NOT NULL,
	"recency" smallint,
	"frequency" smallint,
	"monetary" smallint,
	"score" smallint,
	"segment" text,
	"level_id" uuid,
	"scored_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Hand-added: the RFM state moves to customer_rfm before its columns go (updated_at kept, so no
-- customer's updatedAt moves and no sync cursor sees a change).
INSERT INTO "customer_rfm" ("customer_id", "recency", "frequency", "monetary", "score", "segment", "level_id", "scored_at", "updated_at")
SELECT "id", "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_score", "rfm_segment", "level_id", "rfm_scored_at", "updated_at"
  FROM "customers"
 WHERE "level_id" IS NOT NULL OR "rfm_score" IS NOT NULL OR "rfm_scored_at" IS NOT NULL;
--> statement-breakpoint
ALTER TABLE "customers" DROP CONSTRAINT "customers_level_id_customer_levels_id_fk";
--> statement-breakpoint
DROP INDEX "customers_level_idx";--> statement-breakpoint
CREATE INDEX "customer_rfm_updated_id_idx" ON "customer_rfm" USING btree ("updated_at","customer_id");--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "level_id";--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "rfm_recency";--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "rfm_frequency";--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "rfm_monetary";--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "rfm_score";--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "rfm_segment";--> statement-breakpoint
ALTER TABLE "customers" DROP COLUMN "rfm_scored_at";--> statement-breakpoint
-- Hand-added: customer_rfm.level_id has no foreign key (a check per row the RFM job writes); this
-- keeps what the key kept: a level still referenced cannot be deleted, and no level's id changes.
CREATE FUNCTION customer_levels_guard_rfm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'customer_levels.id cannot change' USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF EXISTS (SELECT 1 FROM customer_rfm WHERE level_id = OLD.id) THEN
    RAISE EXCEPTION 'customer level % is still the level of a customer', OLD.id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'customer_rfm_level_id_fk';
  END IF;
  RETURN OLD;
END
$$;
--> statement-breakpoint
CREATE TRIGGER customer_levels_guard_rfm_delete BEFORE DELETE ON customer_levels
  FOR EACH ROW EXECUTE FUNCTION customer_levels_guard_rfm();
--> statement-breakpoint
CREATE TRIGGER customer_levels_guard_rfm_id BEFORE UPDATE OF id ON customer_levels
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION customer_levels_guard_rfm();
--> statement-breakpoint
-- Hand-added: customer_rfm.customer_id has no foreign key either (a check per row the job writes):
-- a customer's RFM row goes with the customer, as ON DELETE CASCADE did, once per statement.
CREATE FUNCTION customers_delete_rfm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM customer_rfm r USING gone WHERE r.customer_id = gone.id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER customers_delete_rfm AFTER DELETE ON customers
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION customers_delete_rfm();
