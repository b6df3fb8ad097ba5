ALTER TABLE "message_queue" ADD COLUMN "call_started_at" timestamp with time zone;--> statement-breakpoint
-- The delivery fence stamps call_started_at alone on every message just before its carrier call.
-- That changes nothing any list shows, so it keeps updated_at (the sync cursors' key) as it was:
-- with no indexed column changed the update can stay on its page (HOT), which the free space
-- left by a lower fill factor makes likely. Every other update still gets updated_at from the
-- trigger.
ALTER TABLE "message_queue" SET (fillfactor = 70);--> statement-breakpoint
DROP TRIGGER message_queue_sync_updated_at ON message_queue;--> statement-breakpoint
CREATE TRIGGER message_queue_sync_updated_at BEFORE INSERT ON message_queue
  FOR EACH ROW EXECUTE FUNCTION sync_updated_at();--> statement-breakpoint
CREATE TRIGGER message_queue_sync_updated_at_update BEFORE UPDATE ON message_queue
  FOR EACH ROW
  WHEN (NEW.call_started_at IS NOT DISTINCT FROM OLD.call_started_at OR NEW.updated_at IS DISTINCT FROM OLD.updated_at)
  EXECUTE FUNCTION sync_updated_at();
