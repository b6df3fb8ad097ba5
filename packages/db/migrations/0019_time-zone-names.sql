CREATE TABLE "time_zone_names" (
	"name" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "time_zone_names_lower_key" ON "time_zone_names" USING btree (lower("name"));--> statement-breakpoint
-- Hand-added: the server's zone names, and customers' zones it cannot read set back to none (the
-- installation's APP_TIMEZONE then applies).
-- Node's Intl accepted names PostgreSQL does not know (Canada/East-Saskatchewan) and UTC offsets it
-- reads with the opposite sign (+06:30), which failed or mistimed every campaign including them.
INSERT INTO "time_zone_names" ("name") SELECT "name" FROM pg_timezone_names ON CONFLICT DO NOTHING;--> statement-breakpoint
UPDATE "customers" SET "time_zone" = NULL
 WHERE "time_zone" IS NOT NULL
   AND NOT EXISTS (SELECT FROM "time_zone_names" tz WHERE lower(tz."name") = lower("customers"."time_zone"));
