-- Customers that existed before the consent record get one entry stating their state at the time,
-- marked as coming from the migration, so every customer's smsOptIn has an entry behind it.
INSERT INTO "consent_events" ("customer_id", "purpose", "action", "source", "actor_job", "evidence", "occurred_at")
SELECT c."id", 'marketing', CASE WHEN c."sms_opt_in" THEN 'granted' ELSE 'withdrawn' END::"consent_action", 'admin',
       'migration', jsonb_build_object('note', 'state when the consent record was introduced'), c."updated_at"
  FROM "customers" c;
--> statement-breakpoint
-- The record is proof: rows are only ever added.
CREATE FUNCTION "consent_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'consent_events is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "consent_events_append_only" BEFORE UPDATE OR DELETE ON "consent_events"
  FOR EACH ROW EXECUTE FUNCTION "consent_events_append_only"();
