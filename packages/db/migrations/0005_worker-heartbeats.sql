CREATE TABLE "worker_heartbeats" (
	"id" uuid PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"beat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "message_queue" ADD COLUMN "worker_id" uuid;--> statement-breakpoint
CREATE INDEX "message_queue_sending_worker_idx" ON "message_queue" USING btree ("worker_id") WHERE "message_queue"."status" = 'SENDING';