CREATE TYPE "public"."consent_action" AS ENUM('granted', 'withdrawn');--> statement-breakpoint
CREATE TYPE "public"."consent_purpose" AS ENUM('marketing', 'transactional');--> statement-breakpoint
CREATE TYPE "public"."consent_source" AS ENUM('api', 'import', 'inbound_keyword', 'carrier', 'admin');--> statement-breakpoint
CREATE TYPE "public"."message_direction" AS ENUM('OUTBOUND', 'INBOUND');--> statement-breakpoint
ALTER TYPE "public"."message_status" ADD VALUE 'DELIVERED';--> statement-breakpoint
ALTER TYPE "public"."message_status" ADD VALUE 'UNDELIVERED';--> statement-breakpoint
ALTER TYPE "public"."message_status" ADD VALUE 'RECEIVED';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'MANUAL_MARKETING';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'OPT_OUT_CONFIRMATION';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'OPT_IN_CONFIRMATION';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'HELP';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'REPLY';--> statement-breakpoint
CREATE TABLE "consent_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "consent_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"customer_id" uuid NOT NULL,
	"purpose" "consent_purpose" NOT NULL,
	"action" "consent_action" NOT NULL,
	"source" "consent_source" NOT NULL,
	"actor_user_id" uuid,
	"actor_job" text,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "phone_undeliverable_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "phone_undeliverable_reason" text;--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "direction" "message_direction" DEFAULT 'OUTBOUND' NOT NULL;--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "delivery_reported_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "carrier_error_code" text;--> statement-breakpoint
ALTER TABLE "consent_events" ADD CONSTRAINT "consent_events_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consent_events" ADD CONSTRAINT "consent_events_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "consent_events_customer_idx" ON "consent_events" USING btree ("customer_id","purpose","occurred_at");--> statement-breakpoint
CREATE INDEX "message_queue_provider_message_idx" ON "message_queue" USING btree ("provider","provider_message_id");