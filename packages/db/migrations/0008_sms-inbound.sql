CREATE TYPE "public"."message_direction" AS ENUM('OUTBOUND', 'INBOUND');--> statement-breakpoint
ALTER TYPE "public"."message_status" ADD VALUE 'DELIVERED';--> statement-breakpoint
ALTER TYPE "public"."message_status" ADD VALUE 'UNDELIVERED';--> statement-breakpoint
ALTER TYPE "public"."message_status" ADD VALUE 'RECEIVED';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'MANUAL_MARKETING';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'OPT_OUT_CONFIRMATION';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'OPT_IN_CONFIRMATION';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'HELP';--> statement-breakpoint
ALTER TYPE "public"."message_type" ADD VALUE 'REPLY';--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "phone_undeliverable_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "phone_undeliverable_reason" text;--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "direction" "message_direction" DEFAULT 'OUTBOUND' NOT NULL;--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "delivery_reported_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "carrier_error_code" text;--> statement-breakpoint
CREATE INDEX "message_queue_provider_message_idx" ON "message_queue" USING btree ("provider","provider_message_id");